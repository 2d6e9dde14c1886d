// Package crmimport imports a CRM export into ordo's database: the four
// CSV files accounts.csv, products.csv, sales_teams.csv and
// sales_pipeline.csv of the Maven Analytics "CRM Sales Opportunities"
// layout. Import is the entry point; Parse validates without writing.
//
// Every opportunity is stored, whatever its stage. A Won deal also becomes
// a signed contract with the configured payment plan, and a Prospecting or
// Engaging deal becomes a lead assigned to its rep: open for a Prospecting
// deal, contacted at its engage date for an Engaging one.
//
// # Defects
//
// Every defect becomes an Issue naming the file, line, column and value,
// and saying what the importer did:
//
//   - rejected: a row is not imported when it cannot be stored at all.
//     That is the case for a missing or duplicate opportunity id, an
//     unknown deal stage, a missing or duplicate account, product or agent
//     name, the wrong number of fields and text that is not UTF-8.
//   - rejected contract: a Won deal that cannot become a contract has its
//     contract rejected but its opportunity stored, so the deal stays
//     visible and a corrected export creates the contract. That is the
//     case for a missing account or one not in accounts.csv, an unknown
//     product, a missing or invalid close date, a close value that is
//     missing, not above 0 or not an amount, and a missing VAT rate or tax
//     code in the configuration.
//   - corrected: the intent is unambiguous. Spaces are trimmed; names that
//     differ from their master row only in case, or for products also in
//     spaces and hyphens ("GTXPro" is "GTX Pro"), take the master
//     spelling; sectors and countries within a small edit distance of
//     exactly one entry of a fixed vocabulary take that entry.
//   - defaulted: a value that cannot be used is stored empty; an open deal
//     without an engage date is assigned at the import time.
//   - kept: the value is stored as it is and should be checked, such as an
//     unknown country, a lead without an account or a value far from the
//     list price.
//
// # Re-import
//
// Each record carries a hash of the fields that come from the export and
// the options. A record whose hash is unchanged is not written, so
// importing the same files twice changes nothing. A changed record is
// updated, except a contract: it is rewritten only while it came from a
// CRM import, is still signed and its workflow has not started. Otherwise
// the change is reported as a warning on every import until the CRM and
// ordo agree again, and the contract is left as it is. An import never
// writes a contract's state, paid amount or workflow start, nor a lead's
// state or first contact. A lead whose deal is now Won or Lost is closed.
package crmimport
