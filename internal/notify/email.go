package notify

import (
	"context"
	"errors"
	"fmt"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// TLS modes of the email channel.
const (
	TLSNone     = "none"
	TLSStartTLS = "starttls"
	TLSImplicit = "tls"
)

// EmailConfig configures the email channel's SMTP client.
type EmailConfig struct {
	// Address is the SMTP server as host:port.
	Address string
	// From is the sender as an RFC 5322 address, e.g.
	// "ordo <ordo@example.com>". Its domain is the right part of every
	// Message-ID.
	From string
	// Username and Password authenticate with the server when Username is
	// not empty.
	Username string
	Password string
	// TLS is TLSNone (plain SMTP, for a local sink), TLSStartTLS (upgrade
	// required) or TLSImplicit (TLS from the first byte, usually port 465).
	TLS string
	// Timeout bounds connecting and each SMTP command; 0 means 15 seconds.
	Timeout time.Duration
}

// EmailChannel sends notifications as plain-text email over SMTP, one
// connection per message.
type EmailChannel struct {
	client      *mail.Client
	fromName    string
	fromAddress string
	domain      string
}

var _ Channel = (*EmailChannel)(nil)

// NewEmailChannel validates cfg and returns the channel. It does not
// connect: the first Send does.
func NewEmailChannel(cfg EmailConfig) (*EmailChannel, error) {
	host, portText, err := net.SplitHostPort(cfg.Address)
	if err != nil {
		return nil, fmt.Errorf("email channel: invalid SMTP address %q: use host:port: %w", cfg.Address, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 {
		return nil, fmt.Errorf("email channel: invalid SMTP port in %q: use 1 to 65535", cfg.Address)
	}
	from, err := netmail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("email channel: invalid sender address %q: use a form such as \"ordo <ordo@example.com>\": %w", cfg.From, err)
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 15 * time.Second
	}

	options := []mail.Option{mail.WithPort(port), mail.WithTimeout(timeout)}
	// NOTE: the tests send only plain SMTP to the sink. The starttls and tls
	// modes and authentication are go-mail's own and untested in ordo until
	// a test server with TLS and AUTH exists.
	switch cfg.TLS {
	case TLSNone, "":
		options = append(options, mail.WithTLSPolicy(mail.NoTLS))
	case TLSStartTLS:
		options = append(options, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSImplicit:
		options = append(options, mail.WithSSL())
	default:
		return nil, fmt.Errorf("email channel: unknown TLS mode %q: use %s, %s or %s", cfg.TLS, TLSNone, TLSStartTLS, TLSImplicit)
	}
	if cfg.Username != "" {
		options = append(options, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(cfg.Username), mail.WithPassword(cfg.Password))
	}
	client, err := mail.NewClient(host, options...)
	if err != nil {
		return nil, fmt.Errorf("email channel: %w", err)
	}
	return &EmailChannel{
		client:      client,
		fromName:    from.Name,
		fromAddress: from.Address,
		domain:      from.Address[strings.LastIndex(from.Address, "@")+1:],
	}, nil
}

// Name returns "email".
func (c *EmailChannel) Name() string { return ChannelEmail }

// MessageID returns the Message-ID header, with angle brackets, of the
// notification with key.
func (c *EmailChannel) MessageID(key string) string {
	return "<" + StableID(key) + "@" + c.domain + ">"
}

// Send delivers msg as one email: the body, then the link on a line of its
// own. The Message-ID depends only on msg.Key, so a resend after a lost
// reply carries the same id as the first copy.
func (c *EmailChannel) Send(ctx context.Context, msg Message) (Receipt, error) {
	if msg.Address == "" {
		return Receipt{}, Permanent(ChannelEmail, 0, fmt.Errorf("%s: %w", msg.Recipient, ErrNoAddress))
	}
	m := mail.NewMsg()
	if err := m.FromFormat(c.fromName, c.fromAddress); err != nil {
		return Receipt{}, Permanent(ChannelEmail, 0, fmt.Errorf("invalid sender address %q: %w", c.fromAddress, err))
	}
	if err := m.AddToFormat(msg.Recipient, msg.Address); err != nil {
		return Receipt{}, Permanent(ChannelEmail, 0, fmt.Errorf("invalid email address %q of %s: %w", msg.Address, msg.Recipient, err))
	}
	id := c.MessageID(msg.Key)
	m.SetMessageIDWithValue(strings.Trim(id, "<>"))
	m.SetDate()
	m.Subject(msg.Title)
	// RFC 3834: marks the message as automatic, so mail servers send no
	// out-of-office replies to it.
	m.SetGenHeader(mail.Header("Auto-Submitted"), "auto-generated")
	text := msg.Body
	if msg.Link != "" {
		text += "\n\n" + msg.Link
	}
	m.SetBodyString(mail.TypeTextPlain, text+"\n")

	if err := c.client.DialAndSendWithContext(ctx, m); err != nil {
		return Receipt{}, classifySMTPError(err)
	}
	return Receipt{MessageID: id}, nil
}

// classifySMTPError marks the failures no retry can fix as permanent:
// 5xx replies and addresses the client rejects. Temporary replies (4xx),
// connection failures and timeouts stay retryable.
func classifySMTPError(err error) error {
	var sendErr *mail.SendError
	if !errors.As(err, &sendErr) {
		return fmt.Errorf("email channel: %w", err)
	}
	code := sendErr.ErrorCode()
	if sendErr.IsTemp() {
		return fmt.Errorf("email channel: temporary failure (code %d): %w", code, err)
	}
	if code >= 500 {
		return Permanent(ChannelEmail, code, err)
	}
	switch sendErr.Reason {
	case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
		return Permanent(ChannelEmail, 0, err)
	}
	return fmt.Errorf("email channel: %w", err)
}
