"""One seed, split into named streams in one place."""
import pytest

from metadropout_tf import rng


def test_streams_are_distinct_stable_and_depend_on_the_seed():
  seeds = {name: rng.stream(0, name) for name in rng.STREAMS}
  assert len(set(seeds.values())) == len(rng.STREAMS)
  assert seeds == {name: rng.stream(0, name) for name in rng.STREAMS}
  assert all(rng.stream(1, name) != seed for name, seed in seeds.items())
  assert all(0 <= seed < 2**31 for seed in seeds.values())  # fits every seed argument


def test_an_unknown_stream_is_refused():
  with pytest.raises(ValueError, match="unknown random stream 'weights'"):
    rng.stream(0, "weights")
