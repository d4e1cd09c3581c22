// Package mail sends mail off the request path, as durable jobs.
//
// A change stores its message in the outbox (the table kura_mail of
// Schema) and enqueues the job that delivers it, in its own transaction
// (Mailer.SendTx): the message exists, and is sent, if and only if the
// change commits. A job worker (Mailer.Workers) hands it to a Transport:
// SMTP, through github.com/wneessen/go-mail, or Log, which prints it for
// development. A failed attempt is retried with the job queue's backoff
// until Config.MaxAttempts; a refusal the server calls permanent (an SMTP
// 5xx) ends it at once. Either way the message is then failed for good:
// counted in Stats (and kura_mail_failed_total), reported by Health
// (/health's "mail" note) and logged; a message that ran out of attempts
// also shows as a discarded mail.deliver job in the job list, with each
// attempt's error.
//
// # Once per event
//
// A Message carries a Key naming its event (a user and a token, a note
// and a share): the outbox holds one row per key, so an event that is
// handled twice (a retried request, two instances) sends one message. Its
// row records the delivery: a delivery job that runs again finds the
// message sent and sends nothing, and an attempt first raises the row's
// attempt count from the value it read, so two runs of one job at once
// (a job released by the queue while its first holder still ran) never
// both send. The one window left is a process that dies, or loses the
// database, between the server's acceptance and the row's update: the
// retry sends the message again, with the same Message-ID (derived from
// the key), by which receivers drop a duplicate.
//
// The bodies, which hold the flows' links and tokens, are emptied from the
// row once the message is sent or failed for good.
//
// # Templates
//
// Messages are rendered from templates (LoadTemplates): a plain-text body
// with its subject, and an optional HTML alternative, by name. kura's own
// are embedded; an application replaces any of them, or adds its own,
// from a folder, and a template that does not parse is refused at start.
//
// # SMTP and TLS
//
// The SMTP transport follows the database's rule: off loopback, STARTTLS
// (required, never opportunistic) or TLS from the start (smtps://), with
// the server's certificate verified; in clear only to a loopback address.
// Its URL's password appears in no error and no log line.
//
// # Wiring
//
//	m, err := mail.New(db, mail.Config{From: "Example <no-reply@example.com>", Transport: smtp})
//	ws := jobs.NewWorkers()
//	m.Workers(ws)
//	jc, err := jobs.New(db, jobs.Config{Workers: ws})
//	m.SetJobs(jc)
//	// in a change's transaction:
//	msg, err := templates.Message("verify_email", key, user.Email, mail.Data{...})
//	_, err = m.SendTx(ctx, tx, msg)
package mail
