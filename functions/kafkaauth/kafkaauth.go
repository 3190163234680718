// Package kafkaauth sets up a Kafka client (sarama, or franz-go's kgo) to authenticate to a secured Kafka and to encrypt the
// connection, from config.KafkaAuth: SASL SCRAM-SHA-512 with the password read from a file, or
// mutual TLS with the client certificate and key read from files, and the brokers' CA bundle.
// The files are the keys of the Secrets Strimzi's User and Cluster Operators write, mounted into
// the pod. Nothing secret is ever logged or kept in an error message.
//
// Diagnose turns the errors a secured connection fails with into a sentence that says what is
// wrong (a wrong password, an untrusted CA, a missing ACL) and what to check.
package kafkaauth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"sync/atomic"

	"github.com/IBM/sarama"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"

	"github.com/recoflow/recoflow/functions/config"
)

// Configure sets up c to authenticate and encrypt as a says, reading the password, the client
// certificate and key, and the CA bundle from their files. With no authentication and no TLS it
// leaves c as it is. Call it for every client, so that a rotated Secret is read again when a
// client reconnects.
func Configure(c *sarama.Config, a config.KafkaAuth) error {
	if err := a.Validate(); err != nil {
		return err
	}
	if a.UsesTLS() {
		tc, err := TLSConfig(a)
		if err != nil {
			return err
		}
		c.Net.TLS.Enable = true
		c.Net.TLS.Config = tc
	}
	if a.Authentication == config.KafkaAuthSCRAM {
		password, err := ReadPassword(a.PasswordFile)
		if err != nil {
			return err
		}
		c.Net.SASL.Enable = true
		c.Net.SASL.Handshake = true
		c.Net.SASL.Mechanism = sarama.SASLTypeSCRAMSHA512
		c.Net.SASL.User = a.User
		c.Net.SASL.Password = password
		exchanges := &scramExchanges{}
		c.Net.SASL.SCRAMClientGeneratorFunc = func() sarama.SCRAMClient { return &scramClient{exchanges: exchanges} }
	}
	return nil
}

// KgoOptions returns the franz-go client options that authenticate and encrypt as a says, for the
// clients recoflow opens with kgo rather than sarama.
func KgoOptions(a config.KafkaAuth) ([]kgo.Opt, error) { return KgoOptionsDialing(a, nil) }

// Dial opens a connection to a broker's address, as net.Dialer.DialContext does.
type Dial func(ctx context.Context, network, address string) (net.Conn, error)

// KgoOptionsDialing is KgoOptions for a client that opens its connections with dial instead of
// the network (the network when dial is nil), such as through a tunnel. TLS, when a asks for it,
// runs over the connections dial opens and verifies the broker by the address dialed.
func KgoOptionsDialing(a config.KafkaAuth, dial Dial) ([]kgo.Opt, error) {
	if err := a.Validate(); err != nil {
		return nil, err
	}
	var opts []kgo.Opt
	var tc *tls.Config
	if a.UsesTLS() {
		var err error
		if tc, err = TLSConfig(a); err != nil {
			return nil, err
		}
	}
	switch {
	case dial != nil && tc != nil:
		opts = append(opts, kgo.Dialer(dialTLS(dial, tc)))
	case dial != nil:
		opts = append(opts, kgo.Dialer(dial))
	case tc != nil:
		opts = append(opts, kgo.DialTLSConfig(tc))
	}
	if a.Authentication == config.KafkaAuthSCRAM {
		password, err := ReadPassword(a.PasswordFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, kgo.SASL(scram.Auth{User: a.User, Pass: password}.AsSha512Mechanism()))
	}
	return opts, nil
}

// dialTLS returns a dial that runs TLS as tc says over the connections dial opens, verifying
// the broker by the host dialed unless tc names another.
func dialTLS(dial Dial, tc *tls.Config) Dial {
	return func(ctx context.Context, network, address string) (net.Conn, error) {
		c := tc.Clone()
		if c.ServerName == "" {
			host, _, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			c.ServerName = host
		}
		conn, err := dial(ctx, network, address)
		if err != nil {
			return nil, err
		}
		tlsConn := tls.Client(conn, c)
		if err := tlsConn.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, fmt.Errorf("tls handshake with %s: %w", address, err)
		}
		return tlsConn, nil
	}
}

// ReadPassword reads a SCRAM password from path, without surrounding white space.
func ReadPassword(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("kafka password file: %w", err)
	}
	password := strings.TrimSpace(string(b))
	if password == "" {
		return "", fmt.Errorf("kafka password file %s is empty", path)
	}
	return password, nil
}

// TLSConfig returns the TLS client settings of a: TLS 1.2 or newer, the brokers verified against
// the CA bundle (or the system's roots), and the client certificate of mutual TLS.
func TLSConfig(a config.KafkaAuth) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if a.CAFile != "" {
		pem, err := os.ReadFile(a.CAFile)
		if err != nil {
			return nil, fmt.Errorf("kafka CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("kafka CA file %s holds no PEM certificate", a.CAFile)
		}
		tc.RootCAs = pool
	}
	if a.Authentication == config.KafkaAuthTLS {
		cert, err := tls.LoadX509KeyPair(a.CertFile, a.KeyFile)
		if err != nil {
			// The error names the files and what is wrong with them, never the key's bytes.
			return nil, fmt.Errorf("kafka client certificate %s and key %s: %w", a.CertFile, a.KeyFile, err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// scramClient adapts franz-go's SCRAM-SHA-512 implementation to sarama's SCRAMClient.
type scramClient struct {
	exchanges *scramExchanges
	first     []byte
	session   sasl.Session
	done      bool
}

// scramExchanges is what the SCRAM clients of one configuration saw: whether the last exchange
// sent the client's proof and never got the server's final message. A broker that rejects the
// proof answers with an error or, like some test brokers, just closes the connection, which
// sarama reports as a bare EOF; this tells the two apart from a broker that went away.
type scramExchanges struct {
	proofUnanswered atomic.Bool
}

// Begin starts an exchange as user with password.
func (s *scramClient) Begin(user, password, authzID string) error {
	mech := scram.Auth{User: user, Pass: password, Zid: authzID}.AsSha512Mechanism()
	session, first, err := mech.Authenticate(context.Background(), "")
	if err != nil {
		return err
	}
	s.session, s.first, s.done = session, first, false
	return nil
}

// Step answers the server's challenge; the empty first challenge gets the client's first message.
func (s *scramClient) Step(challenge string) (string, error) {
	if s.first != nil {
		first := s.first
		s.first = nil
		return string(first), nil
	}
	done, response, err := s.session.Challenge([]byte(challenge))
	if err != nil {
		return "", err
	}
	s.done = done
	s.exchanges.proofUnanswered.Store(!done)
	return string(response), nil
}

// Done reports whether the server's final message was verified.
func (s *scramClient) Done() bool { return s.done }

// Diagnose says in a sentence why a secured Kafka connection or request made with c failed, and
// what to check, when err is an authentication, certificate or authorisation failure. It returns
// "" for any other error, such as an unreachable broker. c may be nil when the error came from no
// connection attempt of this package's configuration.
func Diagnose(err error, c *sarama.Config) string {
	var unknownCA x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var header tls.RecordHeaderError
	switch {
	case err == nil:
		return ""
	case errors.Is(err, sarama.ErrSASLAuthenticationFailed), proofUnanswered(c):
		return "kafka rejected the SCRAM credentials: wrong user name or password (check the KafkaUser exists and its Secret is the one mounted)"
	case errors.Is(err, sarama.ErrUnsupportedSASLMechanism), errors.Is(err, sarama.ErrIllegalSASLState):
		return "kafka does not accept SCRAM-SHA-512 on this listener: check the bootstrap port and the listener's authentication"
	case errors.As(err, &unknownCA):
		return "kafka's certificate is not signed by a trusted CA: the CA file must be the cluster CA (<cluster>-cluster-ca-cert, key ca.crt)"
	case errors.As(err, &hostname):
		return "kafka's certificate does not name the bootstrap host: connect through the Strimzi bootstrap Service name"
	case errors.As(err, &invalid):
		return "kafka's certificate is invalid (expired or not yet valid): check the cluster CA's rotation"
	case strings.Contains(err.Error(), "remote error: tls: "):
		// crypto/tls reports the broker's alert as an unexported type; its text is stable.
		return "kafka refused the TLS handshake: check that the client certificate is the KafkaUser's (user.crt, user.key) and the listener's authentication is tls"
	case errors.As(err, &header):
		return "kafka did not answer with TLS: the listener is plaintext, turn TLS off or use the TLS port"
	case errors.Is(err, sarama.ErrTopicAuthorizationFailed):
		return "kafka denied access to a topic: this user's ACLs do not allow it"
	case errors.Is(err, sarama.ErrGroupAuthorizationFailed):
		return "kafka denied access to the consumer group: this user's ACLs do not allow it"
	case errors.Is(err, sarama.ErrTransactionalIDAuthorizationFailed):
		return "kafka denied the transactional id: this user's ACLs do not allow it"
	case errors.Is(err, sarama.ErrClusterAuthorizationFailed):
		return "kafka denied a cluster operation: this user's ACLs do not allow it"
	}
	return ""
}

// proofUnanswered reports whether the last SCRAM exchange of c sent the client's proof and got
// no answer: the broker rejected the password.
func proofUnanswered(c *sarama.Config) bool {
	if c == nil || !c.Net.SASL.Enable || c.Net.SASL.SCRAMClientGeneratorFunc == nil {
		return false
	}
	// A fresh client shares its configuration's exchanges and starts nothing.
	sc, ok := c.Net.SASL.SCRAMClientGeneratorFunc().(*scramClient)
	return ok && sc.exchanges.proofUnanswered.Load()
}
