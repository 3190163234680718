package broker

import (
	"errors"
	"fmt"
	"sync"

	"github.com/IBM/sarama"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/kafkaauth"
)

// Admin is a lazily connected admin client of the broker, as the stand-in operators use it; it
// reconnects after an error, so that they keep working while the broker is down or restarting.
type Admin struct {
	bootstrap string
	clientID  string
	auth      config.KafkaAuth

	mu    sync.Mutex
	admin sarama.ClusterAdmin
}

// NewAdmin returns an Admin of the broker at bootstrap, connecting as auth says (on a secured
// broker: the superuser, with the cluster CA), its files read again on every connection.
func NewAdmin(bootstrap, clientID string, auth config.KafkaAuth) *Admin {
	return &Admin{bootstrap: bootstrap, clientID: clientID, auth: auth}
}

// Do runs fn with a connected admin client; on an error other than a Kafka error it drops the
// connection so that the next call reconnects.
func (b *Admin) Do(fn func(sarama.ClusterAdmin) error) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.admin == nil {
		cfg := sarama.NewConfig()
		cfg.ClientID = b.clientID
		cfg.Version = sarama.V3_0_0_0
		if err := kafkaauth.Configure(cfg, b.auth); err != nil {
			return fmt.Errorf("connect to %s: %w", b.bootstrap, err)
		}
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

// Close closes the connection, if there is one.
func (b *Admin) Close() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.admin != nil {
		_ = b.admin.Close()
		b.admin = nil
	}
}
