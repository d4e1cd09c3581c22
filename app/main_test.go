package app

import (
	"testing"

	"github.com/kura-dev/kura/internal/testenv"
)

func TestMain(m *testing.M) { testenv.VerifyNoLeaks(m) }
