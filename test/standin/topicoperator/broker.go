package main

import (
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"
)

// brokerAdmin is a lazily connected admin client of the Kafka broker; it reconnects after an error,
// so that the stand-in keeps working while the broker is down or restarting.
type brokerAdmin struct {
	bootstrap string

	mu    sync.Mutex
	admin sarama.ClusterAdmin
}

func newBroker(bootstrap string) *brokerAdmin { return &brokerAdmin{bootstrap: bootstrap} }

// do runs fn with a connected admin client; on an error other than a Kafka error it drops the
// connection so that the next call reconnects.
func (b *brokerAdmin) do(fn func(sarama.ClusterAdmin) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.admin == nil {
		cfg := sarama.NewConfig()
		cfg.ClientID = "strimzi-topic-operator-standin"
		cfg.Version = sarama.V3_0_0_0
		admin, err := sarama.NewClusterAdmin([]string{b.bootstrap}, cfg)
		if err != nil {
			return fmt.Errorf("connect to %s: %w", b.bootstrap, err)
		}
		b.admin = admin
	}
	err := fn(b.admin)
	var kerr sarama.KError
	var terr *sarama.TopicError
	if err != nil && !errors.As(err, &kerr) && !errors.As(err, &terr) {
		_ = b.admin.Close()
		b.admin = nil
	}
	return err
}

func (b *brokerAdmin) close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.admin != nil {
		_ = b.admin.Close()
	}
}
