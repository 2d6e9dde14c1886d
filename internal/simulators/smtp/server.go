package smtp

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	netmail "net/mail"
	"strings"
	"sync"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"github.com/sirupsen/logrus"
	"github.com/uptrace/bun"

	"github.com/ordo-project/ordo/internal/logging"
	"github.com/ordo-project/ordo/internal/simulators"
)

// FaultTempFailure refuses a message with 451 4.3.0 and stores nothing.
const FaultTempFailure simulators.Fault = "temp_failure"

// DefaultFaults are drawn when the fault configuration lists no kinds.
var DefaultFaults = []simulators.Fault{FaultTempFailure}

const componentID = "smtp-sim"

// Log field names this package adds to those of package logging.
const (
	keyMessageID  = "message_id"
	keyCopies     = "copies"
	keyRecipients = "recipients"
	keyFault      = "fault"
)

// Config configures the sink. Zero values take the defaults named on each
// field.
type Config struct {
	// DB stores the received messages. Required.
	DB *bun.DB
	// Address is the listen address, default 127.0.0.1:0 (a free port).
	Address string
	// Domain is the name the sink greets with, default "ordo-sim.local".
	Domain string
	// MaxMessageBytes bounds one message, default 1 MiB.
	MaxMessageBytes int64
	// Faults selects injected faults. Kinds default to DefaultFaults.
	Faults simulators.FaultConfig
	// Logger defaults to a logger that discards everything.
	Logger logrus.FieldLogger
}

// Simulator is the SMTP sink. Create it with New, then Start it; Close
// stops it.
type Simulator struct {
	cfg      Config
	log      logrus.FieldLogger
	injector *simulators.Injector

	mu       sync.Mutex
	failNext int

	server   *gosmtp.Server
	listener net.Listener
	once     sync.Once
}

// New validates the configuration and creates the sim_mail table.
func New(ctx context.Context, cfg Config) (*Simulator, error) {
	if cfg.DB == nil {
		return nil, errors.New("SMTP simulator: missing DB")
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:0"
	}
	if cfg.Domain == "" {
		cfg.Domain = "ordo-sim.local"
	}
	if cfg.MaxMessageBytes <= 0 {
		cfg.MaxMessageBytes = 1 << 20
	}
	if cfg.Logger == nil {
		cfg.Logger = logging.Discard()
	}
	injector, err := simulators.NewInjector(cfg.Faults, DefaultFaults...)
	if err != nil {
		return nil, fmt.Errorf("SMTP simulator: %w", err)
	}
	if err := Migrate(ctx, cfg.DB); err != nil {
		return nil, fmt.Errorf("SMTP simulator: %w", err)
	}
	return &Simulator{cfg: cfg, log: cfg.Logger.WithField(logging.KeyComponent, componentID), injector: injector}, nil
}

// Start listens on Config.Address and serves SMTP until Close.
func (s *Simulator) Start() error {
	listener, err := net.Listen("tcp", s.cfg.Address)
	if err != nil {
		return fmt.Errorf("SMTP simulator: listen on %s: %w", s.cfg.Address, err)
	}
	server := gosmtp.NewServer(gosmtp.BackendFunc(func(conn *gosmtp.Conn) (gosmtp.Session, error) {
		return &session{sim: s, conn: conn}, nil
	}))
	server.Domain = s.cfg.Domain
	server.MaxMessageBytes = s.cfg.MaxMessageBytes
	server.MaxRecipients = 100
	server.ReadTimeout = time.Minute
	server.WriteTimeout = time.Minute
	server.ErrorLog = s.log
	s.listener, s.server = listener, server
	go func() {
		if err := server.Serve(listener); err != nil && !errors.Is(err, gosmtp.ErrServerClosed) {
			s.log.WithField(logging.KeyError, err).Error("SMTP simulator server stopped")
		}
	}()
	s.log.WithField(logging.KeyAddress, listener.Addr().String()).Info("SMTP simulator started")
	return nil
}

// Address returns the address the started sink listens on.
func (s *Simulator) Address() string {
	if s.listener == nil {
		return ""
	}
	return s.listener.Addr().String()
}

// Injector returns the fault injector, for tests.
func (s *Simulator) Injector() *simulators.Injector { return s.injector }

// FailNext refuses the next n messages with FaultTempFailure, before any
// drawn fault.
func (s *Simulator) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

// Summary counts the received messages.
func (s *Simulator) Summary(ctx context.Context) (MailSummary, error) {
	return Summarize(ctx, s.cfg.DB)
}

// Messages returns the received messages, oldest first; a non-empty
// messageID selects the copies of one message.
func (s *Simulator) Messages(ctx context.Context, messageID string) ([]Mail, error) {
	return List(ctx, s.cfg.DB, messageID)
}

// Close stops the server and closes open connections. Stored messages
// stay in the database.
func (s *Simulator) Close() error {
	var err error
	s.once.Do(func() {
		if s.server == nil {
			return
		}
		if cerr := s.server.Close(); cerr != nil && !errors.Is(cerr, gosmtp.ErrServerClosed) && !errors.Is(cerr, net.ErrClosed) {
			err = fmt.Errorf("SMTP simulator: close: %w", cerr)
		}
		s.log.Info("SMTP simulator stopped")
	})
	return err
}

func (s *Simulator) drawFault() simulators.Fault {
	s.mu.Lock()
	if s.failNext > 0 {
		s.failNext--
		s.mu.Unlock()
		return FaultTempFailure
	}
	s.mu.Unlock()
	return s.injector.Draw()
}

// session is one SMTP connection's transaction state.
type session struct {
	sim  *Simulator
	conn *gosmtp.Conn
	from string
	to   []string
}

func (s *session) Reset() {
	s.from, s.to = "", nil
}

func (s *session) Logout() error { return nil }

func (s *session) Mail(from string, _ *gosmtp.MailOptions) error {
	s.from = from
	return nil
}

func (s *session) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	domain := strings.ToLower(to[strings.LastIndex(to, "@")+1:])
	if domain == "invalid" || strings.HasSuffix(domain, ".invalid") {
		return &gosmtp.SMTPError{
			Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1},
			Message: "mailbox unavailable: the domain .invalid never receives mail",
		}
	}
	s.to = append(s.to, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read message: %w", err)
	}
	fault := s.sim.drawFault()
	if fault == FaultTempFailure {
		s.sim.log.WithField(keyFault, fault).Info("SMTP simulator rejected a message with a simulated temporary failure (451)")
		return &gosmtp.SMTPError{
			Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
			Message: "simulated temporary failure, try again later",
		}
	}

	mail := parseMail(raw)
	mail.From = s.from
	mail.To = strings.Join(s.to, ",")
	mail.ReceivedAt = time.Now().UTC()
	copies, err := insertMail(context.Background(), s.sim.cfg.DB, &mail)
	if err != nil {
		s.sim.log.WithField(logging.KeyError, err).Error("SMTP simulator could not store a message")
		return &gosmtp.SMTPError{
			Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
			Message: "could not store the message, try again later",
		}
	}
	entry := s.sim.log.WithFields(logrus.Fields{keyMessageID: mail.MessageID, keyRecipients: len(s.to), keyCopies: copies})
	if copies > 1 {
		entry.Warn("SMTP simulator received a message again: the Message-ID was received before")
	} else {
		entry.Info("SMTP simulator accepted a message")
	}

	if fault == simulators.FaultLostReply {
		s.sim.log.WithFields(logrus.Fields{keyFault: fault, keyMessageID: mail.MessageID}).
			Info("SMTP simulator stored a message and dropped the connection before replying")
		_ = s.conn.Conn().Close()
	}
	return nil
}

// parseMail reads the headers the ledger keeps and the text of a
// single-part message. A message that does not parse is kept whole as its
// body, so nothing received is lost.
func parseMail(raw []byte) Mail {
	mail := Mail{Size: len(raw)}
	msg, err := netmail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		mail.Body = string(raw)
		return mail
	}
	mail.MessageID = strings.TrimSpace(msg.Header.Get("Message-Id"))
	subject := msg.Header.Get("Subject")
	if decoded, err := new(mime.WordDecoder).DecodeHeader(subject); err == nil {
		subject = decoded
	}
	mail.Subject = subject

	body, err := io.ReadAll(msg.Body)
	if err != nil {
		mail.Body = string(raw)
		return mail
	}
	mail.Body = decodeBody(body, msg.Header.Get("Content-Transfer-Encoding"))
	return mail
}

func decodeBody(body []byte, encoding string) string {
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "quoted-printable":
		if decoded, err := io.ReadAll(quotedprintable.NewReader(bytes.NewReader(body))); err == nil {
			return string(decoded)
		}
	case "base64":
		compact := strings.Join(strings.Fields(string(body)), "")
		if decoded, err := base64.StdEncoding.DecodeString(compact); err == nil {
			return string(decoded)
		}
	}
	return string(body)
}
