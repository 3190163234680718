package kafka

import (
	"context"
	"errors"
	"net"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/recoflow/recoflow/functions/config"
)

// ReaderOption changes how a LogReader connects to the brokers.
type ReaderOption func(*readerOptions)

type readerOptions struct {
	dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// DialThrough makes a LogReader open every broker connection, to the seed brokers and to the
// addresses the brokers advertise, with dial instead of the network: to reach brokers through a
// tunnel, such as the kubectl plugin's port-forwards through the API server. It does not combine
// with TLS.
func DialThrough(dial func(ctx context.Context, network, address string) (net.Conn, error)) ReaderOption {
	return func(o *readerOptions) { o.dial = dial }
}

// readerConnection adds to the client options kgoOpts what opts ask for.
func readerConnection(auth config.KafkaAuth, kgoOpts []kgo.Opt, opts []ReaderOption) ([]kgo.Opt, error) {
	var o readerOptions
	for _, opt := range opts {
		opt(&o)
	}
	if o.dial == nil {
		return kgoOpts, nil
	}
	if auth.UsesTLS() {
		return nil, errors.New("a reader that dials through a tunnel cannot use TLS")
	}
	return append(kgoOpts, kgo.Dialer(o.dial)), nil
}
