package kafkatest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/kafka"
)

// The crash-test harness. A crash test runs a transactional function in a child process, the
// test binary itself running one test (the child test), and kills it at a chosen point of its
// transaction cycle with SIGKILL, without any cleanup, while the parent keeps checking what
// Kafka holds.

// Hook is the transaction hook of a function (kafka.TransactorConfig.Hook).
type Hook = func(context.Context, kafka.Stage) error

// RunChild is the body of a child test: unless the environment variable env is set it skips, as
// a test of its own it is not (parent names the test that runs it). Otherwise it calls run with a
// logger writing at debug level to the child's output and a hook that kills the process where
// env's value says (KillAt), and ends the process when run returns: status 2 when run failed to
// start, 1 otherwise (a child is only ever meant to end by its kill).
func RunChild(t *testing.T, env, parent string, run func(log *slog.Logger, hook Hook) error) {
	spec, ok := os.LookupEnv(env)
	if !ok {
		t.Skipf("not a test of its own: %s runs it as a child process", parent)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	err := run(log, KillAt(spec))
	fmt.Fprintln(os.Stderr, "child: stopped:", err)
	var settings *SettingsError
	if errors.As(err, &settings) {
		os.Exit(2)
	}
	os.Exit(1)
}

// SettingsError is the error a child's run returns when it cannot read its settings.
type SettingsError struct{ Err error }

func (e *SettingsError) Error() string { return "child settings: " + e.Err.Error() }

// Unwrap returns the settings error.
func (e *SettingsError) Unwrap() error { return e.Err }

// KillAt returns the transaction hook of a child that kills itself, without any cleanup, the nth
// time it reaches stage, as spec "<stage>:<n>" says ("never" never does).
func KillAt(spec string) Hook {
	stage, nth := kafka.Stage(""), 0
	if name, n, found := strings.Cut(spec, ":"); found {
		stage = kafka.Stage(name)
		nth, _ = strconv.Atoi(n)
	}
	var reached int
	return func(_ context.Context, s kafka.Stage) error {
		if s != stage {
			return nil
		}
		if reached++; reached == nth {
			fmt.Fprintf(os.Stderr, "child: killing myself at %s\n", spec)
			_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
			select {}
		}
		return nil
	}
}

// Child is a running child process (see RunChild).
type Child struct {
	cmd     *exec.Cmd
	output  *LockedBuffer
	started time.Time
	exited  chan struct{}
	ended   time.Time
}

// StartChild runs the test binary's test named test as a child process with the environment env
// added, and returns it. The child is killed when the test ends.
func StartChild(t testing.TB, test string, env ...string) *Child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	c := &Child{cmd: cmd, output: &LockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = c.output, c.output
	if err := cmd.Start(); err != nil {
		t.Fatalf("start child: %v", err)
	}
	c.started = time.Now()
	go func() {
		_ = cmd.Wait()
		c.ended = time.Now()
		close(c.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-c.exited
	})
	return c
}

// WaitKilled waits for the child to die of SIGKILL and fails the test if it does not within
// timeout or exits any other way.
func (c *Child) WaitKilled(t testing.TB, timeout time.Duration) {
	t.Helper()
	select {
	case <-c.exited:
	case <-time.After(timeout):
		t.Fatalf("child still running after %s; output:\n%s", timeout, c.Output())
	}
	status, ok := c.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if !ok || !status.Signaled() || status.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL; output:\n%s", c.cmd.ProcessState, c.Output())
	}
}

// Kill kills the child with SIGKILL, at whatever point it is.
func (c *Child) Kill() { _ = c.cmd.Process.Kill() }

// Lived returns how long the child ran; it is valid once the child has exited.
func (c *Child) Lived() time.Duration { return c.ended.Sub(c.started) }

// outputLines is how many of a child's last output lines Output shows. A child logs at debug
// level, two lines per transaction, so this covers its last few seconds.
const outputLines = 150

// Output returns the last lines the child wrote.
func (c *Child) Output() string {
	out := c.output.String()
	lines := strings.SplitAfter(out, "\n")
	if n := len(lines) - outputLines; n > 0 {
		return fmt.Sprintf("[%d earlier lines left out]\n%s", n, strings.Join(lines[n:], ""))
	}
	return out
}

// LockedBuffer collects output written from several goroutines while a test reads it.
type LockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p to the buffer.
func (o *LockedBuffer) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns everything written so far.
func (o *LockedBuffer) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
