"""The admin's shared display helpers: sizes and durations a person can read."""

from core.admin import human_duration, human_size


def test_sizes_read_in_powers_of_1024():
    assert [human_size(n) for n in (None, 0, 1023, 1536, 5 * 1024**2, 3 * 1024**4)] == [
        "—", "0 bytes", "1023 bytes", "1.5 KiB", "5.0 MiB", "3.0 TiB"]


def test_durations_read_as_their_two_largest_units():
    assert [human_duration(s) for s in (None, 0.25, 0.9996, 5, 60, 125, 3600, 3725, 93600)] == [
        "—", "250 ms", "1 s", "5 s", "1 min", "2 min 5 s", "1 h", "1 h 2 min", "1 d 2 h"]
