// Package einvoice simulates an invoicing platform that issues fully
// digital VAT invoices (数电发票) for ordo's company.
//
// China has no single national API for this: companies reach the tax
// bureau's platform through a service provider, and every provider has its
// own HTTP API. This package models a typical one. The connector in
// connectors/einvoice speaks the same protocol.
//
// # Envelope
//
// Every reply is JSON of the form
//
//	{"code": "0000", "message": "success", "data": {...}}
//
// "0000" means success. Other codes come with a matching HTTP status:
//
//	1001  400  validation failed; data.errors lists {field, index, message},
//	           index is the line position from 0, or -1 for a header field
//	1002  409  serial_no already used for a different request body
//	1003  409  the invoice is in a state that forbids the operation
//	1004  404  no invoice or confirmation form with that number
//	2001  401  signature invalid
//	2002  401  timestamp outside the allowed clock skew
//	2003  401  nonce already used
//	2004  401  unknown app key
//	3001  429  rate limit exceeded
//	5000  500  internal error, safe to retry
//
// # Authentication
//
// Each request under /v1 carries these headers:
//
//	X-App-Key:    the app key
//	X-Timestamp:  Unix time in milliseconds
//	X-Nonce:      8 to 64 random characters, never reused
//	X-Signature:  lowercase hex HMAC-SHA256 with the app secret over
//	              METHOD "\n" REQUEST_URI "\n" TIMESTAMP "\n" NONCE "\n"
//	              hex(SHA-256(body))
//
// REQUEST_URI is the path plus the query string, if any, exactly as sent.
// The platform rejects timestamps more than Config.ClockSkew away from its
// clock and nonces it has seen within twice that window.
//
// # Endpoints
//
//	POST /v1/invoices              issue a blue invoice
//	GET  /v1/invoices/{serial_no}  query the state of a blue or red request
//	POST /v1/red-confirmations     create the red-letter confirmation form
//	POST /v1/red-invoices          issue the red invoice for a form
//
// Issuing is asynchronous. POST /v1/invoices validates the request, stores
// it as "processing" and returns at once. After Config.IssueDelay the
// platform assigns a 20-digit invoice number and the state becomes
// "issued", or "failed" with failure_reason when the tax platform rejected
// it. A request is idempotent on serial_no: repeating it returns the stored
// state, and reusing the serial_no with a different body is rejected with
// code 1002.
//
// Amounts travel as JSON strings (bare JSON numbers are accepted too). Each
// line needs name, tax_code (税收分类编码, 19 digits), tax_rate, amount and
// tax. Amount and tax have at most 2 decimals. Quantity and unit_price are
// optional and have at most 13 decimals, and when both are present their
// product must be within 0.01 of amount. Tax must be within
// Config.LineTaxTolerance (0.06 by default) of round(amount × tax_rate), and
// the sum of those differences over all lines within
// Config.TotalTaxTolerance (1.27 by default). The header totals must equal
// the sums over the lines exactly, and total_inclusive (价税合计) must equal
// total_amount + total_tax. A special invoice (kind 81) needs the buyer's
// tax ID.
//
// A blue invoice is reversed in full with two calls. POST
// /v1/red-confirmations with the original invoice number creates the
// confirmation form (红字确认单). There is one form per original invoice, so
// repeating the call returns the same form. POST /v1/red-invoices with a
// new serial_no and the form's number then issues the red invoice
// asynchronously like a blue one. When it is issued the original becomes
// "reversed" and carries red_invoice_no.
//
// NOTE: the simulated form is confirmed at once. On the real platform the
// buyer may have to confirm it first. Partial reversal is not simulated.
//
// # Callbacks
//
// When Config.CallbackURL is set, the platform POSTs an event whenever a
// request is issued, fails or reverses an invoice:
//
//	{"event_id": "...", "event": "invoice.issued", "occurred_at": "...", "data": {invoice}}
//
// Events are invoice.issued, invoice.failed and invoice.reversed. The last
// one carries the original blue invoice. The request has the headers
// X-Ordo-Event, X-Ordo-Timestamp (Unix seconds) and
// X-Ordo-Signature: sha256=<hex HMAC-SHA256 over timestamp + "." + body>,
// keyed with Config.CallbackSecret. Any 2xx reply acknowledges the event.
// Other replies and errors are retried with exponential backoff up to
// Config.CallbackMaxAttempts. Delivery runs in its own loop from a table in
// SQLite, so it never delays issuing and survives a restart. A receiver
// must deduplicate on event_id, because a delivery whose reply was lost is
// sent again.
//
// # Simulator controls
//
//	GET /sim/faults  the current simulators.FaultConfig as JSON
//	PUT /sim/faults  replace it (durations are in nanoseconds)
//	GET /sim/health  200 while the server runs
//
// These are not authenticated and never get faults. The injected faults
// are those of package simulators (server_error, throttle, timeout,
// lost_reply, plus Latency) and, only when the configuration lists it,
// FaultIssueFailed, which accepts an issue request and fails it later as
// the tax platform would.
//
// State lives in SQLite. Due times are stored, so a request accepted before
// a restart or a kill -9 is issued by the next process that opens the file.
package einvoice
