//go:build unix

package hotness_test

import (
	"syscall"
	"testing"
	"time"
)

// cpuClock measures the CPU time the process spends, which the load of other processes on a
// shared machine inflates far less than the wall time a benchmark's ns/op reports.
type cpuClock struct{ start time.Duration }

func startCPUClock() cpuClock { return cpuClock{start: processCPUTime()} }

// report adds the CPU time per operation since the clock started as the "cpu-ns/op" metric.
func (c cpuClock) report(b *testing.B) {
	b.ReportMetric(float64(processCPUTime()-c.start)/float64(b.N), "cpu-ns/op")
}

func processCPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
