package greptimeeventsexporter // import "github.com/greptime-events/greptimeeventsexporter"

import "sync"

// workers runs the insert calls of a push on long-lived goroutines. A push
// hands its groups to idle workers and sends the rest itself, so one push
// runs at most len(workers)+1 calls at a time, and no goroutine is started,
// with its stack grown again, for every call.
type workers struct {
	tasks chan func()
	done  chan struct{}
	wg    sync.WaitGroup
}

func startWorkers(n int) *workers {
	w := &workers{tasks: make(chan func()), done: make(chan struct{})}
	for range n {
		w.wg.Go(func() {
			for {
				select {
				case task := <-w.tasks:
					task()
				case <-w.done:
					return
				}
			}
		})
	}
	return w
}

// run calls fn(i) for every i in [0, n) and returns when all have returned.
// After stop, it calls them all itself.
func (w *workers) run(n int, fn func(i int)) {
	var wg sync.WaitGroup
	for i := 1; i < n; i++ {
		wg.Add(1)
		task := func() {
			defer wg.Done()
			fn(i)
		}
		select {
		case w.tasks <- task:
		default: // every worker is busy: send it from here
			task()
		}
	}
	if n > 0 {
		fn(0)
	}
	wg.Wait()
}

// stop ends the workers once their current tasks are done.
func (w *workers) stop() {
	close(w.done)
	w.wg.Wait()
}
