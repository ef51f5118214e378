package greptimeeventsexporter

import (
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestWorkersRunEveryTask(t *testing.T) {
	w := startWorkers(3)
	var calls [50]atomic.Int32
	w.run(len(calls), func(i int) { calls[i].Add(1) })
	w.stop()
	for i := range calls {
		assert.Equal(t, int32(1), calls[i].Load(), "task %d", i)
	}

	// A push after stop (which exporterhelper does not make) still completes.
	var after atomic.Int32
	w.run(5, func(int) { after.Add(1) })
	assert.Equal(t, int32(5), after.Load())
}
