"""The access line written without logging's per-record machinery: the bytes logging's formatter
would write, and logging itself whenever the set-up is not the plain one `configure_logging`
makes (another handler, a filter, another format or level)."""

from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import Iterator

import pytest

from sportstats.ops import access_log
from sportstats.ops.access_log import LOG_FORMAT, log_access
from sportstats.ops.record import configure_logging

# Moments with awkward milliseconds: none, the last of a second, a rounding edge, a plain one.
MOMENTS = (1_764_806_400.0, 1_764_806_400.9995, 1_764_806_461.0009999, 1_764_806_522.123456)
LINE_ARGS = ("0123abcd", None, "10.0.0.7", "GET", "teams", 200, "HIT", 0, 0.000_42)


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    """Logging set up as `python -m sportstats` does, writing to a buffer; restored after."""
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    root.handlers = []
    configure_logging("INFO")
    handler = root.handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    handler.setStream(buffer)
    yield buffer
    root.handlers = saved
    root.setLevel(level)


def plain() -> None:
    """Only the handler `configure_logging` made: pytest adds its capturing handlers to the root
    logger for each test phase, after the fixtures ran (and takes them away itself)."""
    root = logging.getLogger()
    root.handlers[:] = [h for h in root.handlers if not type(h).__module__.startswith("_pytest")]


@pytest.fixture
def records(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the loggers that made a `LogRecord` (logging's per-record path)."""
    made: list[str] = []
    # Not through the record factory: another factory itself turns the direct path off.
    make_record = logging.Logger.makeRecord

    def spy(self: logging.Logger, name: str, *args, **kwargs) -> logging.LogRecord:
        made.append(name)
        return make_record(self, name, *args, **kwargs)

    monkeypatch.setattr(logging.Logger, "makeRecord", spy)
    return made


def at(monkeypatch: pytest.MonkeyPatch, moment: float) -> None:
    monkeypatch.setattr(time, "time", lambda: moment)


@pytest.mark.parametrize("moment", MOMENTS)
def test_the_direct_line_has_the_bytes_the_logging_formatter_writes(
    stream: io.StringIO, records: list[str], monkeypatch: pytest.MonkeyPatch, moment: float
) -> None:
    plain()
    at(monkeypatch, moment)
    log_access(*LINE_ARGS)
    direct = stream.getvalue()
    assert records == []  # no LogRecord: the direct path wrote it

    stream.seek(0)
    stream.truncate()
    handler = logging.getLogger().handlers[0]
    handler.addFilter(lambda record: True)  # a filter that keeps everything: logging's path
    log_access(*LINE_ARGS)
    assert records == ["sportstats.access"]
    assert direct == stream.getvalue()
    assert direct.startswith(time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(moment)))
    assert direct.endswith(" INFO sportstats.access request_id=0123abcd client=10.0.0.7"
                           " addr=10.0.0.7 method=GET endpoint=teams status=200 cache=HIT"
                           " upstream_calls=0 duration_ms=0.4\n")  # fmt: skip


async def test_the_lines_of_one_loop_pass_are_written_together_and_in_order(
    stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain()
    writes: list[str] = []
    write = stream.write
    monkeypatch.setattr(stream, "write", lambda text: writes.append(text) or write(text))
    for request_id in ("first", "second"):
        log_access(request_id, *LINE_ARGS[1:])
    assert stream.getvalue() == ""  # held until the end of this pass
    logging.getLogger("sportstats.web").warning("something else")  # the held lines go first
    log_access("third", *LINE_ARGS[1:])
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    lines = stream.getvalue().splitlines()
    assert [line.split()[4] for line in lines] == [
        "request_id=first",
        "request_id=second",
        "something",
        "request_id=third",
    ]
    assert len(writes) == 3  # the two held lines at once, the warning, the third line


def test_held_lines_are_written_when_logging_flushes_at_exit(stream: io.StringIO) -> None:
    plain()
    handler = logging.getLogger().handlers[0]
    handler.held.append("2026-12-04 20:00:00,000 INFO sportstats.access request_id=x\n")
    handler.flush()  # what logging.shutdown, at the interpreter's exit, calls on each handler
    assert stream.getvalue().endswith("request_id=x\n")


def test_lines_within_one_second_and_across_seconds_keep_their_own_times(
    stream: io.StringIO, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain()
    expected = []
    formatter = logging.Formatter(LOG_FORMAT)
    for moment in (100.001, 100.999, 101.5, 99.25):
        at(monkeypatch, moment)
        log_access(*LINE_ARGS)
        record = logging.LogRecord("sportstats.access", logging.INFO, "", 0, "m", (), None)
        expected.append(formatter.formatTime(record))
    stamps = [line[:23] for line in stream.getvalue().splitlines()]
    assert stamps == expected


def test_an_added_handler_gets_the_record_and_the_stream_the_same_line(
    stream: io.StringIO, records: list[str]
) -> None:
    plain()
    extra: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            extra.append(record.getMessage())

    keep = Keep()
    logging.getLogger("sportstats.access").addHandler(keep)
    try:
        log_access(*LINE_ARGS)
    finally:
        logging.getLogger("sportstats.access").removeHandler(keep)
    assert len(extra) == 1 and extra[0].startswith("request_id=0123abcd ")
    assert records == ["sportstats.access"]
    assert stream.getvalue().count("\n") == 1  # the root handler still wrote it, once


def test_a_second_root_handler_sends_the_line_through_logging(
    stream: io.StringIO, records: list[str]
) -> None:
    plain()
    second = io.StringIO()
    extra = logging.StreamHandler(second)
    logging.getLogger().addHandler(extra)
    log_access(*LINE_ARGS)
    assert records == ["sportstats.access"]
    assert stream.getvalue().endswith("duration_ms=0.4\n")
    assert second.getvalue() == "request_id=0123abcd client=10.0.0.7 addr=10.0.0.7 method=GET" \
        " endpoint=teams status=200 cache=HIT upstream_calls=0 duration_ms=0.4\n"  # fmt: skip


def test_a_filter_on_the_access_logger_is_obeyed(stream: io.StringIO) -> None:
    plain()
    logger = logging.getLogger("sportstats.access")
    drop = logging.Filter("nothing.matches")
    logger.addFilter(drop)
    try:
        log_access(*LINE_ARGS)
    finally:
        logger.removeFilter(drop)
    assert stream.getvalue() == ""


def test_another_format_is_written_by_logging(stream: io.StringIO, records: list[str]) -> None:
    plain()
    logging.getLogger().handlers[0].setFormatter(logging.Formatter("%(levelname)s|%(message)s"))
    log_access(*LINE_ARGS)
    assert records == ["sportstats.access"]
    assert stream.getvalue().startswith("INFO|request_id=0123abcd ")


def test_a_handler_above_info_writes_nothing(stream: io.StringIO) -> None:
    plain()
    logging.getLogger().handlers[0].setLevel(logging.WARNING)
    log_access(*LINE_ARGS)
    assert stream.getvalue() == ""


def test_a_level_above_info_writes_nothing(stream: io.StringIO) -> None:
    plain()
    logging.getLogger().setLevel(logging.WARNING)
    log_access(*LINE_ARGS)
    assert stream.getvalue() == ""


def test_a_quoted_value_is_escaped_on_the_direct_path_too(stream: io.StringIO) -> None:
    plain()
    log_access("id", None, "10.0.0.7", 'GE T\nx="y"', "unmatched", 405)
    line = stream.getvalue()
    assert line.count("\n") == 1
    assert ' method="GE T\\nx=\\"y\\"" ' in line
    assert access_log.logfmt_value('GE T\nx="y"') == '"GE T\\nx=\\"y\\""'
