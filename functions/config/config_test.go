package config_test

import (
	"flag"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/recoflow/recoflow/functions/config"
	"github.com/recoflow/recoflow/functions/contract"
)

func parse(t *testing.T, env map[string]string, args ...string) (config.Popularity, error) {
	t.Helper()
	c := config.DefaultPopularity()
	fs := flag.NewFlagSet("popularity", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	b := config.NewBinder(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	c.RegisterFlags(b)
	return c, b.Parse(args)
}

func TestBinderPrecedence(t *testing.T) {
	env := map[string]string{
		contract.EnvPopularityHalfLife: "2h",
		contract.EnvKafkaBrokers:       "a:9092, b:9092",
		contract.EnvPopularityWeights:  "liked=10",
	}
	c, err := parse(t, env, "--half-life=30m")
	if err != nil {
		t.Fatal(err)
	}
	if c.HalfLife != 30*time.Minute {
		t.Errorf("HalfLife = %v, want the flag's 30m over the environment's 2h", c.HalfLife)
	}
	if want := []string{"a:9092", "b:9092"}; !reflect.DeepEqual(c.Brokers, want) {
		t.Errorf("Brokers = %v, want %v from the environment", c.Brokers, want)
	}
	if c.Weights[contract.ActionLiked] != 10 || c.Weights[contract.ActionFavorited] != 5 {
		t.Errorf("Weights = %v, want liked=10 over the other defaults", c.Weights)
	}
	if c.FlushInterval != time.Second {
		t.Errorf("FlushInterval = %v, want the 1s default", c.FlushInterval)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
}

func TestBinderRejects(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{name: "bad duration in env", env: map[string]string{contract.EnvPopularityHalfLife: "soon"}, want: contract.EnvPopularityHalfLife},
		{name: "bad int flag", args: []string{"--top-n-max=many"}, want: "top-n-max"},
		{name: "rated weight", args: []string{"--weights=rated=2"}, want: "rated weighs rating-3"},
		{name: "infinite weight", args: []string{"--weights=liked=+Inf"}, want: "finite"},
		{name: "unknown action", args: []string{"--weights=clicked=1"}, want: "clicked"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parse(t, tt.env, tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Parse() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	c := config.DefaultClean()
	c.Brokers = nil
	c.DedupeMaxKeys = 0
	err := c.Validate()
	for _, want := range []string{"kafka-brokers", "dedupe-max-keys"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to name %s", err, want)
		}
	}
	for name, v := range map[string]interface{ Validate() error }{
		"ingest": config.DefaultIngest(), "clean": config.DefaultClean(), "popularity": config.DefaultPopularity(),
	} {
		if err := v.Validate(); err != nil {
			t.Errorf("%s defaults do not validate: %v", name, err)
		}
	}
}

func TestWeightsString(t *testing.T) {
	var w config.Weights = config.DefaultWeights()
	if got, want := w.String(), "liked=3,unliked=-3,viewed=1,favorited=5,shared=4"; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

func TestKafkaAuthFromEnvironment(t *testing.T) {
	env := map[string]string{
		contract.EnvKafkaAuthentication: "SCRAM-SHA-512",
		contract.EnvKafkaUser:           "shop-popularity",
		contract.EnvKafkaPasswordFile:   "/var/run/secrets/kafka-user/password",
		contract.EnvKafkaTLS:            "true",
		contract.EnvKafkaCAFile:         "/var/run/secrets/kafka-ca/ca.crt",
	}
	c, err := parse(t, env)
	if err != nil {
		t.Fatal(err)
	}
	want := config.KafkaAuth{Authentication: config.KafkaAuthSCRAM, User: "shop-popularity",
		PasswordFile: "/var/run/secrets/kafka-user/password", TLS: true, CAFile: "/var/run/secrets/kafka-ca/ca.crt"}
	if c.KafkaAuth != want {
		t.Errorf("KafkaAuth = %+v, want %+v", c.KafkaAuth, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate() = %v", err)
	}
	if _, err := parse(t, map[string]string{contract.EnvKafkaAuthentication: "plain"}); err == nil || !strings.Contains(err.Error(), "scram-sha-512") {
		t.Errorf("authentication plain: %v, want an error listing the mechanisms", err)
	}
	if _, err := parse(t, map[string]string{contract.EnvKafkaTLS: "yes please"}); err == nil {
		t.Error("RECOFLOW_KAFKA_TLS=yes please was accepted")
	}
}
