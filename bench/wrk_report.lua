-- wrk script for bench/overhttp.py: the request shape comes from the
-- environment (BENCH_METHOD, BENCH_BODY, BENCH_CONTENT_TYPE; other headers
-- are passed with -H), and done() prints the summary as one JSON line.

wrk.method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY") or ""
if body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = os.getenv("BENCH_CONTENT_TYPE")
end

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "p50_us": %d, "p99_us": %d, '
      .. '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50.0), latency:percentile(99.0),
    errors.connect, errors.read, errors.write, errors.status, errors.timeout))
end
