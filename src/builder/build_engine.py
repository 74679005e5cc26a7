"""trtctl's build script for the `python` builder backend.

It builds one TensorRT engine from an ONNX file with the `tensorrt` Python API, doing what
`trtexec --onnx=... --saveEngine=... --skipInference` does, in a process of its own. trtctl
embeds this file and runs it as `python -u -X faulthandler -c <this file> <job JSON>`; the job
holds: onnx, output, timing_cache, precision, strongly_typed, profile (a list of
{name, min, opt, max}), workspace_mib, optimization_level, hardware_compatibility,
version_compatible. The GPU is the one CUDA_VISIBLE_DEVICES shows.

The log goes to stdout in trtexec's shape: `[date-time] [I|W|E|F] message` lines, ending in
`&&&& PASSED ...` or `&&&& FAILED ...`. The exit status is 0 only when the engine was written.
Runs on Python 3.8 and newer, and on TensorRT 8.0 to 11.x: what a version lacks is refused by
trtctl before the build starts.
"""

from json import loads
from os import getpid, replace
from os.path import getsize, isfile
from sys import argv, exit, version_info
from time import monotonic, strftime
from traceback import format_exc

TAG = "trtctl.build_engine"


def log(level, message):
    stamp = strftime("%m/%d/%Y-%H:%M:%S")
    for line in str(message).splitlines() or [""]:
        print("[%s] [%s] %s" % (stamp, level, line), flush=True)


def version_of(text):
    """`10.3.0.26` -> (10, 3, 0, 26); stops at the first part that is not a number."""
    parts = []
    for part in str(text).split("."):
        if not part.isdigit():
            break
        parts.append(int(part))
    return tuple(parts)


def make_logger(trt):
    """A TensorRT logger that writes trtexec's log lines (verbose messages left out)."""
    severity = trt.ILogger.Severity
    levels = {
        severity.INTERNAL_ERROR: "F",
        severity.ERROR: "E",
        severity.WARNING: "W",
        severity.INFO: "I",
    }

    class Logger(trt.ILogger):
        def __init__(self):
            trt.ILogger.__init__(self)

        def log(self, level, message):
            if level in levels:
                log(levels[level], message)

    return Logger()


def parse(trt, builder, logger, job):
    """The network of the ONNX file, or None after logging the parser's errors."""
    creation = trt.NetworkDefinitionCreationFlag
    flags = 0
    if version_of(trt.__version__) < (10,):
        # Implicit batch is gone from TensorRT 10 (and the flag with it in 11).
        flags |= 1 << int(creation.EXPLICIT_BATCH)
    if job["strongly_typed"]:
        flags |= 1 << int(creation.STRONGLY_TYPED)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    log("I", "Start parsing network model.")
    if parser.parse_from_file(job["onnx"]):
        log("I", "Finished parsing network model.")
        return network, parser
    for index in range(parser.num_errors):
        error = parser.get_error(index)
        node = error.node()
        where = " (node %d)" % node if node >= 0 else ""
        log("E", "ONNX parser: %s%s" % (error.desc(), where))
    log("E", "Failed to parse onnx file %s" % job["onnx"])
    return None, parser


def configure(trt, builder, config, job):
    """Precision, memory pool, optimization level, compatibility and the profile."""
    flag = trt.BuilderFlag
    precision = job["precision"]
    if not job["strongly_typed"]:
        if precision in ("fp16", "best"):
            config.set_flag(flag.FP16)
        if precision in ("int8", "best"):
            config.set_flag(flag.INT8)
        if precision == "bf16":
            config.set_flag(flag.BF16)
        if precision == "fp8":
            config.set_flag(flag.FP8)
    if job["workspace_mib"] is not None:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, job["workspace_mib"] << 20)
    if job["optimization_level"] is not None:
        config.builder_optimization_level = job["optimization_level"]
    level = job["hardware_compatibility"]
    levels = trt.HardwareCompatibilityLevel
    if level == "none":
        config.hardware_compatibility_level = levels.NONE
    elif level == "ampere+":
        config.hardware_compatibility_level = levels.AMPERE_PLUS
    elif level == "sameComputeCapability":
        config.hardware_compatibility_level = levels.SAME_COMPUTE_CAPABILITY
    if job["version_compatible"]:
        config.set_flag(flag.VERSION_COMPATIBLE)
    if job["profile"]:
        profile = builder.create_optimization_profile()
        for item in job["profile"]:
            profile.set_shape(item["name"], item["min"], item["opt"], item["max"])
        config.add_optimization_profile(profile)


def load_timing_cache(config, path):
    """The timing cache at `path` (a missing or empty file is a cold start); one this TensorRT
    cannot use is replaced by a fresh one, as trtexec does. Device mismatches are accepted, as
    trtexec 10.1 and newer accept them."""
    data = b""
    if isfile(path) and getsize(path) > 0:
        with open(path, "rb") as file:
            data = file.read()
        log("I", "Loaded %d bytes of timing cache from %s" % (len(data), path))
    else:
        log("W", "Could not read timing cache from: %s. A new one will be written." % path)
    try:
        cache = config.create_timing_cache(data)
    except Exception as error:
        log("W", "Timing cache %s is unreadable: %s" % (path, error))
        cache = None
    if cache is None or not config.set_timing_cache(cache, True):
        log("W", "Timing cache %s is not one this TensorRT can use: starting a new one" % path)
        config.set_timing_cache(config.create_timing_cache(b""), True)


def save_timing_cache(config, path):
    """Writes the grown cache back, whole or not at all (builds of other engines share it)."""
    temp = "%s.tmp.%d" % (path, getpid())
    try:
        with open(temp, "wb") as file:
            file.write(config.get_timing_cache().serialize())
        replace(temp, path)
        log("I", "Saved %d bytes of timing cache to %s" % (getsize(path), path))
    except OSError as error:
        log("W", "Could not write timing cache to %s: %s" % (path, error))


def build(job):
    import tensorrt as trt

    log("I", "TensorRT version: %s" % trt.__version__)
    log("I", "Python %d.%d.%d" % tuple(version_info[:3]))
    logger = make_logger(trt)
    builder = trt.Builder(logger)
    network, parser = parse(trt, builder, logger, job)
    if network is None:
        return False
    config = builder.create_builder_config()
    configure(trt, builder, config, job)
    cache_path = job["timing_cache"]
    if cache_path is not None:
        load_timing_cache(config, cache_path)
    log("I", "Set up network, starting engine build.")
    started = monotonic()
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        log("E", "Engine could not be created from network")
        return False
    with open(job["output"], "wb") as file:
        file.write(plan)
    log("I", "Engine built in %.3f sec." % (monotonic() - started))
    log("I", "Engine saved to %s" % job["output"])
    if cache_path is not None:
        save_timing_cache(config, cache_path)
    return True


def main():
    try:
        passed = build(loads(argv[1]))
    except BaseException:  # an interrupt too: the log says how it ended
        lines = format_exc().splitlines()
        log("E", "The build script stopped: %s" % lines[-1])
        for line in lines:
            print(line, flush=True)
        passed = False
    print("&&&& %s %s" % ("PASSED" if passed else "FAILED", TAG), flush=True)
    exit(0 if passed else 1)


if __name__ == "__main__":
    main()
