package app

import (
	"context"
	"os"
	"syscall"

	"github.com/kura-dev/kura/httpapi"
)

// drained returns a context that ends once ctx has ended (SIGINT or
// SIGTERM) and srv has drained for KURA_DRAIN_DELAY: /health/ready said
// "draining" while every request was still served, with Connection: close.
// A second signal during the delay ends it at once (a person at a terminal
// need not wait). The shutdown's deadline, KURA_SHUTDOWN_TIMEOUT, starts
// after it.
func (a *App) drained(ctx context.Context, srv *httpapi.Server) context.Context {
	dctx, done := context.WithCancel(context.WithoutCancel(ctx))
	go func() {
		<-ctx.Done()
		again, stop := context.WithCancel(dctx)
		defer stop()
		go a.onSecondSignal(again, stop)
		srv.Drain(again, a.cfg.DrainDelay.D())
		done()
	}()
	return dctx
}

// onSecondSignal calls cut when a second signal arrives on
// Options.Signals (the first is the one that began the shutdown), or
// returns when ctx ends.
func (a *App) onSecondSignal(ctx context.Context, cut func()) {
	seen := 0
	for {
		select {
		case <-a.opts.Signals:
			if seen++; seen == 2 {
				cut()
				return
			}
		case <-ctx.Done():
			return
		}
	}
}

// Signals are the signals that stop an app: what main gives
// signal.NotifyContext, and Options.Signals.
var Signals = []os.Signal{os.Interrupt, syscall.SIGTERM}
