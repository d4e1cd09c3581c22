package cache_test

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/kura-dev/kura"
	"github.com/kura-dev/kura/cache"
)

func TestConfig_WithDefaults(t *testing.T) {
	t.Run("Zero", func(t *testing.T) {
		c := cache.Config{}.WithDefaults()
		if c.TTL != cache.DefaultTTL || c.Size != cache.DefaultSize || c.Jitter != cache.DefaultJitter ||
			c.NotFoundTTL != cache.DefaultNotFoundTTL || c.Prefix != cache.DefaultPrefix ||
			c.RedisTimeout != cache.DefaultRedisTimeout || c.InvalidationTimeout != cache.DefaultInvalidationTimeout ||
			c.LockTTL != cache.DefaultLockTTL || c.RedisURL != "" {
			t.Fatalf("WithDefaults() = %+v", c)
		}
		if !c.IsNotFound(kura.Errorf(kura.ENOTFOUND, "gone")) || c.IsNotFound(errors.New("boom")) {
			t.Fatal("the default IsNotFound is not kura's not-found test")
		}
		if err := c.NotFoundError("User not found."); kura.ErrorCode(err) != kura.ENOTFOUND || kura.ErrorMessage(err) != "User not found." {
			t.Fatalf("NotFoundError = %v", err)
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Validate after WithDefaults = %v", err)
		}
	})

	t.Run("SetKept", func(t *testing.T) {
		in := cache.Config{TTL: time.Minute, Size: 5, Jitter: -1, NotFoundTTL: -1, Prefix: "p:", RedisTimeout: 1, InvalidationTimeout: 2, LockTTL: 3}
		c := in.WithDefaults()
		if c.TTL != in.TTL || c.Size != in.Size || c.Jitter != in.Jitter || c.NotFoundTTL != in.NotFoundTTL ||
			c.Prefix != in.Prefix || c.RedisTimeout != 1 || c.InvalidationTimeout != 2 || c.LockTTL != 3 {
			t.Fatalf("WithDefaults() = %+v, want %+v", c, in)
		}
	})
}

func TestConfig_Validate(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		for _, c := range []cache.Config{
			{},
			{Jitter: -1, NotFoundTTL: -1},
			{RedisURL: "redis://127.0.0.1:6379/0"},
			{RedisURL: "rediss://user:pw@example.com:6380"},
			{RedisURL: "unix:///run/redis.sock"},
		} {
			if err := c.Validate(); err != nil {
				t.Errorf("Validate(%+v) = %v", c, err)
			}
		}
	})
	tests := []struct {
		name  string
		cfg   cache.Config
		field string
	}{
		{"ErrTTL", cache.Config{TTL: -time.Second}, "TTL"},
		{"ErrSize", cache.Config{Size: -1}, "Size"},
		{"ErrJitter", cache.Config{Jitter: 1}, "Jitter"},
		{"ErrJitterNaN", cache.Config{Jitter: math.NaN()}, "Jitter"},
		{"ErrRedisTimeout", cache.Config{RedisTimeout: -1}, "RedisTimeout"},
		{"ErrInvalidationTimeout", cache.Config{InvalidationTimeout: -1}, "InvalidationTimeout"},
		{"ErrLockTTL", cache.Config{LockTTL: -1}, "LockTTL"},
		{"ErrRedisURL", cache.Config{RedisURL: "http://user:s3cret@example.com"}, "RedisURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), "cache: "+tt.field+" must be ") {
				t.Fatalf("Validate() = %v; want an error naming %s", err, tt.field)
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Fatalf("Validate() = %v: the error shows the password", err)
			}
		})
	}
	t.Run("ErrRedisURLPasswordUnescaped", func(t *testing.T) {
		for _, u := range []string{"redis://:p@ss/w%rd#x@127.0.0.1:6379/0", "redis://:pw#tail@127.0.0.1:6379/0", "rediss://u:pw?tail@h:6380"} {
			err := cache.Config{RedisURL: u}.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), "cache: RedisURL: the URL could not be read") {
				t.Fatalf("Validate(%s) = %v; want the URL refused", u, err)
			}
			if strings.Contains(err.Error(), "tail") || strings.Contains(err.Error(), "ss/w") {
				t.Fatalf("Validate() = %v: the error shows the password", err)
			}
		}
	})
}
