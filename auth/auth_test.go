package auth

import (
	"context"
	"testing"
)

func TestCallerFrom(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		ctx    context.Context
		want   Caller
		wantOK bool
	}{
		{name: "none", ctx: context.Background()},
		{name: "zero caller", ctx: WithCaller(context.Background(), Caller{})},
		{
			name:   "caller",
			ctx:    WithCaller(context.Background(), Caller{Subject: "alice"}),
			want:   Caller{Subject: "alice"},
			wantOK: true,
		},
		{
			name:   "innermost wins",
			ctx:    WithCaller(WithCaller(context.Background(), Caller{Subject: "alice"}), Caller{Subject: "bob"}),
			want:   Caller{Subject: "bob"},
			wantOK: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := CallerFrom(tc.ctx)
			if got != tc.want || ok != tc.wantOK {
				t.Errorf("CallerFrom() = %+v, %v; want %+v, %v", got, ok, tc.want, tc.wantOK)
			}
		})
	}
}
