// Package smtp simulates the company's mail server: an SMTP sink on a
// loopback address that accepts every message, delivers none, and keeps
// each one in the sim_mail table of the simulators database.
//
// The sink exists to prove that ordo notifies each person once: it counts
// the messages received per Message-ID, and a Message-ID received twice is
// a duplicate. ordo derives the Message-ID from the notification's key, so
// a resend after a lost reply shows up here as a duplicate, not as a new
// message.
//
// # Protocol
//
// Plain SMTP (RFC 5321) with ESMTP extensions as go-smtp offers them, no
// TLS and no authentication. Recipients in the reserved top-level domain
// "invalid" (RFC 2606), e.g. nobody@example.invalid, are rejected with
// 550 5.1.1, a permanent failure. Messages up to Config.MaxMessageBytes
// are accepted.
//
// # Faults
//
// With the fault rate of simulators.FaultConfig, a message is refused at
// the end of DATA with one of these faults, drawn from Config.Faults.Kinds
// (default FaultTempFailure only):
//
//   - FaultTempFailure: 451 4.3.0, a temporary failure. Nothing is stored,
//     and the sender should try again later.
//   - simulators.FaultLostReply: the message is stored and the connection
//     is closed before the reply, so the sender cannot tell whether the
//     message arrived and will send it again.
//
// Simulator.FailNext refuses the next n messages with FaultTempFailure,
// for tests that need a failure at a known point.
package smtp
