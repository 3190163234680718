package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/popularity"
	"github.com/recoflow/recoflow/functions/popularity/popularitytest"
)

// popScene is a broker with the pipeline's topics, a publisher streaming random clean events to
// it, the brute-force model of those events, and a running view to check the model against.
type popScene struct {
	cluster *popularitytest.Cluster
	cfg     config.Popularity
	pub     *popularitytest.Publisher
	gen     *popularitytest.Generator
	model   *popularitytest.Model
	view    *popularity.View
}

// newPopScene starts a scene whose topics have the given partitions, with settings for instance
// and events about items items, drawn from seed.
func newPopScene(t *testing.T, partitions int32, instance string, seed uint64, items int) *popScene {
	t.Helper()
	cluster := popularitytest.NewCluster(t, partitions)
	s := &popScene{
		cluster: cluster,
		cfg:     cluster.Config(instance),
		pub:     cluster.NewPublisher(t),
		gen:     popularitytest.NewGenerator(seed, items, time.Now()),
	}
	s.model = popularitytest.NewModel(s.cfg)
	s.view = popularity.NewView(s.cfg, popOptions())
	popularitytest.Start(t, s.view)
	return s
}

// stream publishes events until stop is called.
func (s *popScene) stream(t *testing.T) (stop func()) {
	return s.pub.Stream(t, s.gen, s.model, 25)
}

// check compares what the view serves with the model.
func (s *popScene) check() error { return s.model.Check(s.view, time.Now()) }

// popOptions are the options of every processor and view the tests start: short group timeouts.
func popOptions() popularity.Options {
	return popularity.Options{Sarama: popularitytest.FastGroups}
}

// popChild is a running popularity processor child process (see TestPopularityChildProcess).
type popChild struct {
	cmd    *exec.Cmd
	output *popOutput
	exited chan struct{}
}

// startPopChild starts a processor child for cfg that kills itself as spec says.
func startPopChild(t *testing.T, cfg config.Popularity, spec string) *popChild {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestPopularityChildProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		popChildEnv+"="+spec,
		config.EnvKafkaBrokers+"="+strings.Join(cfg.Brokers, ","),
		config.EnvInstanceID+"="+cfg.InstanceID,
		config.EnvConsumerGroup+"="+cfg.Group,
		config.EnvPopularityFlushInterval+"="+cfg.FlushInterval.String(),
	)
	c := &popChild{cmd: cmd, output: &popOutput{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.output, c.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.exited
	})
	return c
}

// waitKilled waits for the child to die of SIGKILL and fails the test if it does not within
// timeout or exits any other way.
func (c *popChild) waitKilled(t *testing.T, timeout time.Duration) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(timeout):
		t.Fatalf("child still running after %s; output:\n%s", timeout, c.output)
	}
	status, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() || status.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL; output:\n%s", c.cmd.ProcessState, c.output)
	}
}

// popOutput collects a child's output while it runs.
type popOutput struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *popOutput) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

func (o *popOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
