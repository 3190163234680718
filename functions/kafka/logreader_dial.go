package kafka

import (
	"github.com/recoflow/recoflow/functions/kafkaauth"
)

// ReaderOption changes how a LogReader connects to the brokers.
type ReaderOption func(*readerOptions)

type readerOptions struct {
	dial kafkaauth.Dial
}

// DialThrough makes a LogReader open every broker connection, to the seed brokers and to the
// addresses the brokers advertise, with dial instead of the network: to reach brokers through a
// tunnel, such as the kubectl plugin's port-forwards through the API server. TLS, when the
// reader's authentication asks for it, runs over the connections dial opens.
func DialThrough(dial kafkaauth.Dial) ReaderOption {
	return func(o *readerOptions) { o.dial = dial }
}

// readerDial returns the dial opts ask for; nil dials the network.
func readerDial(opts []ReaderOption) kafkaauth.Dial {
	var o readerOptions
	for _, opt := range opts {
		opt(&o)
	}
	return o.dial
}
