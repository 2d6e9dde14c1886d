// Package bank simulates the bank that holds ordo's collection account and
// the customers who pay into it.
//
// # Statement API
//
// The API follows the pattern of bank-enterprise direct-connect (银企直联)
// statement queries. The client requests the lines after a continuation
// key and pages forward until a reply has has_more set to false.
//
//	POST /openapi/v1/statements/query
//	{"account_no": "...", "cursor": "", "page_size": 50}
//
// An empty cursor starts at the first line. page_size is 1 to
// Config.MaxPageSize (200 by default), and 0 or missing means 50. The reply
// is
//
//	{"ret_code": "000000", "ret_msg": "success", "data": {
//	    "account_no": "...",
//	    "lines": [{
//	        "serial_no": "20211031000000000042",  bank serial number, unique
//	        "business_date": "20211031",          booking date, YYYYMMDD, China Standard Time
//	        "trade_time": "153045",               booking time, HHMMSS
//	        "amount": "-35,000.00",               signed, thousands separators; positive = received
//	        "balance": "1,234,567.89",            account balance after the line
//	        "currency": "CNY",
//	        "counterparty_name": "...",           payer of a credit, payee of a debit; may be empty
//	        "counterparty_account": "...",
//	        "remark": "货款 CT-1C1I7A6R"          free text (摘要/附言), may be empty
//	    }],
//	    "next_cursor": "42",                      pass as cursor next time
//	    "has_more": false}}
//
// Lines come oldest first. The cursor is opaque to the client. A line can
// be delivered twice, at the end of one page and the start of the next, as
// real banks sometimes resend lines, so clients deduplicate on serial_no.
//
// Errors use ret_code with a matching HTTP status: E1001 (400, invalid
// request), E1004 (404, unknown account), E4001 (401, authentication
// failed), E4291 (429, too many requests) and E5001 (500, system busy, safe
// to retry).
//
// # Authentication
//
// Each request carries X-Client-Id, X-Timestamp (Unix seconds) and
// X-Signature, the lowercase hex HMAC-SHA256 with the client secret over
// TIMESTAMP "\n" METHOD "\n" REQUEST_URI "\n" body. The bank rejects
// timestamps more than Config.ClockSkew away from its clock. The query only
// reads, so there is no nonce.
//
// # Simulated customers
//
// Simulator implements simulators.World. When the ERP audits a sales order,
// the customer pays an advance of Behaviour.AdvanceRatio of the
// tax-inclusive total after Behaviour.AdvanceDelay. When an invoice is
// issued, the customer pays the rest, the invoice total minus what it paid
// or is about to pay for that contract, after Behaviour.BalanceDelay.
// Payments are scheduled in SQLite and posted by a background loop, so they
// survive a restart, and each event is handled once however often it is
// reported.
//
// Customers vary the way real ones do. The choice is made per contract with
// simulators.Chance, so a restarted simulator makes the same one:
//
//   - partial: the rest arrives in two lines, 60% then 40%.
//   - combined: the rest of two contracts of the same payer arrives in one
//     line whose remark names both contract numbers. A payment waits up to
//     Behaviour.CombineWindow for a second contract and is paid alone if
//     none comes.
//   - over-payment: the rest plus Behaviour.OverpayExtra.
//   - no remark: the remark is empty or says nothing about the contract, so
//     the payment can only be matched on payer and amount. It applies only
//     to a rest paid whole and exact, whose amount is the invoice total
//     minus what the customer paid before.
//   - stray lines: after a customer payment, an incoming line from a payer
//     who has no contract, or an outgoing bank fee.
//
// None of them leaves a contract short: every contract is paid in full or
// more.
//
// A payer's account number is derived from its name (see PayerAccount), so
// the same customer always pays from the same account.
//
// # Simulator controls
//
//	GET /sim/faults    the current simulators.FaultConfig as JSON
//	PUT /sim/faults    replace it (durations are in nanoseconds)
//	GET /sim/payments  the payment schedule, for inspection
//	GET /sim/health    200 while the server runs
//
// These are not authenticated and never get faults. The injected faults
// are server_error, throttle, timeout and lost_reply of package simulators,
// Latency, and FaultDuplicateLine.
package bank
