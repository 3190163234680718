// Command kafka is the e2e cluster's Kafka: one kfake broker on every interface, which advertises
// itself under the address clients were given (Strimzi's <cluster>-kafka-bootstrap.<namespace>.svc),
// so that metadata responses send clients back through the Service. Test-only; see package standin.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"

	"github.com/twmb/franz-go/pkg/kfake"
)

func main() {
	advertise := flag.String("advertise", "", "host the broker advertises, e.g. events-kafka-bootstrap.recoflow.svc")
	port := flag.Int("port", 9092, "port the broker listens on, on every interface")
	flag.Parse()
	if err := run(*advertise, *port); err != nil {
		slog.Error("kafka stand-in failed", "err", err)
		os.Exit(1)
	}
}

func run(advertise string, port int) error {
	if advertise == "" {
		return fmt.Errorf("-advertise is required")
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()

	// kfake listens on 127.0.0.1 and advertises its listener's address; listen on every interface
	// instead and report the advertised address.
	listen := func(network, _ string) (net.Listener, error) {
		ln, err := net.Listen(network, ":"+strconv.Itoa(port))
		if err != nil {
			return nil, err
		}
		return advertisedListener{Listener: ln, addr: advertisedAddr(net.JoinHostPort(advertise, strconv.Itoa(port)))}, nil
	}
	cluster, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.Ports(port), kfake.ListenFn(listen))
	if err != nil {
		return fmt.Errorf("start kfake: %w", err)
	}
	slog.Info("kafka stand-in serving", "listen", port, "advertise", advertise)
	<-ctx.Done()
	cluster.Close()
	return nil
}

// advertisedListener is a listener whose Addr is the address clients should use.
type advertisedListener struct {
	net.Listener
	addr net.Addr
}

// Addr returns the advertised address.
func (l advertisedListener) Addr() net.Addr { return l.addr }

// advertisedAddr is a host:port address that need not resolve on this pod.
type advertisedAddr string

// Network returns "tcp".
func (advertisedAddr) Network() string { return "tcp" }

// String returns host:port.
func (a advertisedAddr) String() string { return string(a) }
