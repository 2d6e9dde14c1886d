package simulators_test

import (
	"testing"

	"github.com/ordo-project/ordo/internal/simulators"
)

func TestQueueOrder(t *testing.T) {
	var queue simulators.Queue[string]
	if item, ok := queue.Pop(); ok {
		t.Errorf("empty queue popped %q", item)
	}
	queue.Push("first", "second")
	queue.Push("third")
	for _, expected := range []string{"first", "second", "third"} {
		if item, ok := queue.Pop(); !ok || item != expected {
			t.Errorf("pop = %q, %v, expected %q, true", item, ok, expected)
		}
	}
	if item, ok := queue.Pop(); ok {
		t.Errorf("drained queue popped %q", item)
	}
}

func TestIDSetReplace(t *testing.T) {
	var set simulators.IDSet
	if set.Contains("ghost") {
		t.Error("empty set contains ghost")
	}
	set.Replace("ghost", "nobody")
	if !set.Contains("ghost") {
		t.Error("set lacks ghost after Replace")
	}
	set.Replace("zhangwei")
	if set.Contains("ghost") {
		t.Error("set kept ghost from the earlier Replace")
	}
	if !set.Contains("zhangwei") {
		t.Error("set lacks zhangwei after Replace")
	}
}
