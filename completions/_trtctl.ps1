
using namespace System.Management.Automation
using namespace System.Management.Automation.Language

Register-ArgumentCompleter -Native -CommandName 'trtctl' -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)

    $commandElements = $commandAst.CommandElements
    $command = @(
        'trtctl'
        for ($i = 1; $i -lt $commandElements.Count; $i++) {
            $element = $commandElements[$i]
            if ($element -isnot [StringConstantExpressionAst] -or
                $element.StringConstantType -ne [StringConstantType]::BareWord -or
                $element.Value.StartsWith('-') -or
                $element.Value -eq $wordToComplete) {
                break
        }
        $element.Value
    }) -join ';'

    $completions = @(switch ($command) {
        'trtctl' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('-V', '-V ', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Print version')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what apply would fetch, build, upload or rebuild, and why')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make the cache match the manifest: fetch, build and upload what the plan says')
            [CompletionResult]::new('ensure', 'ensure', [CompletionResultType]::ParameterValue, 'One engine without a manifest: print its path and where it came from (local_cache, remote, built)')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Pin the engines of the manifest that exist (local cache or remote) in engines.lock')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Install the engines engines.lock pins for this host''s GPUs: no ONNX, trtexec or TensorRT needed')
            [CompletionResult]::new('fleet', 'fleet', [CompletionResultType]::ParameterValue, 'Fan builds out to a fleet: Kubernetes Jobs, a GitHub Actions matrix, or Ray jobs')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Lay out pinned engines for a model server')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'Inspect, prune and check the local engine cache')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Signing keys: make one, print its public key')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Sign the engines already in the remote with this machine''s key (TRTCTL_SIGNING_KEY_FILE)')
            [CompletionResult]::new('gpus', 'gpus', [CompletionResultType]::ParameterValue, 'Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do')
            [CompletionResult]::new('doctor', 'doctor', [CompletionResultType]::ParameterValue, 'Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of engines.toml, for editors')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;plan' {
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)')
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Save the plan as JSON, for `trtctl apply FILE` later')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print the plan as JSON instead of text')
            [CompletionResult]::new('--detailed-exitcode', '--detailed-exitcode', [CompletionResultType]::ParameterName, 'Exit 2 when changes are pending, 3 when some engines cannot be built here (0 = nothing to do)')
            [CompletionResult]::new('--graph', '--graph', [CompletionResultType]::ParameterName, 'Print the action graph in Graphviz DOT instead of text')
            [CompletionResult]::new('--no-upload', '--no-upload', [CompletionResultType]::ParameterName, 'Plan to publish nothing to the remote (fetches still happen)')
            [CompletionResult]::new('--locked', '--locked', [CompletionResultType]::ParameterName, 'Fail (exit 1, showing the difference) if engines.lock would change, like `cargo --locked`')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;apply' {
            [CompletionResult]::new('--force-rebuild', '--force-rebuild', [CompletionResultType]::ParameterName, 'Rebuild everything, or only engines matching SELECTOR (e.g. `arcface_r100:fp16`)')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Concurrent transfers (builds run one per local GPU)')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Concurrent transfers (builds run one per local GPU)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--keep-going', '--keep-going', [CompletionResultType]::ParameterName, 'Finish everything that does not depend on a failure (the exit code still says it failed)')
            [CompletionResult]::new('--allow-missing', '--allow-missing', [CompletionResultType]::ParameterName, 'Succeed even if some engines cannot be built here and are not in the remote')
            [CompletionResult]::new('--no-upload', '--no-upload', [CompletionResultType]::ParameterName, 'Publish nothing to the remote (fetches still happen)')
            [CompletionResult]::new('--no-shared-timing-cache', '--no-shared-timing-cache', [CompletionResultType]::ParameterName, 'Neither fetch nor publish timing caches through the remote (the local one is still used)')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Only show the plan (same as `trtctl plan`)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON event per line instead of progress')
            [CompletionResult]::new('--locked', '--locked', [CompletionResultType]::ParameterName, 'Fail (exit 1, showing the difference) if engines.lock would change, like `cargo --locked`')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;ensure' {
            [CompletionResult]::new('--onnx', '--onnx', [CompletionResultType]::ParameterName, 'The ONNX model')
            [CompletionResult]::new('--precision', '--precision', [CompletionResultType]::ParameterName, 'fp32, fp16, bf16, int8, fp8 or best')
            [CompletionResult]::new('--batch-size', '--batch-size', [CompletionResultType]::ParameterName, 'The largest batch the engine must take (the profile is 1..=N, optimized for N)')
            [CompletionResult]::new('--name', '--name', [CompletionResultType]::ParameterName, 'Model name in the engine''s file name (default: the ONNX file''s stem)')
            [CompletionResult]::new('--version', '--version', [CompletionResultType]::ParameterName, 'Model version (default: the first 8 hex digits of the ONNX sha256)')
            [CompletionResult]::new('--remote', '--remote', [CompletionResultType]::ParameterName, 'A remote engine cache to fetch from and upload to (`s3://bucket/prefix` or `file:///dir`); default: TRTCTL_REMOTE, else s3://screenalytics-artifacts/engines at ARTIFACTS_ENDPOINT, else none')
            [CompletionResult]::new('--gpu', '--gpu', [CompletionResultType]::ParameterName, 'Build on this GPU (device index; default: the first)')
            [CompletionResult]::new('--timeout', '--timeout', [CompletionResultType]::ParameterName, 'Give up after this many seconds; nothing half-written is committed')
            [CompletionResult]::new('--hardware-compatibility', '--hardware-compatibility', [CompletionResultType]::ParameterName, 'TensorRT''s hardware compatibility level (`ampere+`: one engine for every GPU of sm_80 or later)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--no-remote', '--no-remote', [CompletionResultType]::ParameterName, 'Only the local cache and the local GPU, whatever the environment says')
            [CompletionResult]::new('--force-rebuild', '--force-rebuild', [CompletionResultType]::ParameterName, 'Build again even if a current engine is cached locally or remotely')
            [CompletionResult]::new('--no-upload', '--no-upload', [CompletionResultType]::ParameterName, 'Publish nothing to the remote (fetches still happen)')
            [CompletionResult]::new('--version-compatible', '--version-compatible', [CompletionResultType]::ParameterName, 'Build version-compatible (a newer TensorRT may load it)')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print `{"path": ..., "source": ...}`')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;lock' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--allow-missing', '--allow-missing', [CompletionResultType]::ParameterName, 'Lock the engines that exist and list the others as missing, instead of failing')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;fetch' {
            [CompletionResult]::new('--lock', '--lock', [CompletionResultType]::ParameterName, 'The lock to install (default: engines.lock beside the manifest)')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)')
            [CompletionResult]::new('-j', '-j', [CompletionResultType]::ParameterName, 'Concurrent downloads')
            [CompletionResult]::new('--jobs', '--jobs', [CompletionResultType]::ParameterName, 'Concurrent downloads')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print one JSON object (per-engine status) instead of lines')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;fleet' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a GitHub Actions matrix')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Submit one Ray job per unit to a running Ray cluster and wait on them')
            [CompletionResult]::new('node-args', 'node-args', [CompletionResultType]::ParameterValue, 'Print the `ray start` arguments that offer this host''s GPUs to `trtctl fleet apply`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;fleet;plan' {
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)')
            [CompletionResult]::new('--job-manifest', '--job-manifest', [CompletionResultType]::ParameterName, 'The manifest''s path where the jobs run (default: as given to -f; absolute for Ray)')
            [CompletionResult]::new('--trtctl', '--trtctl', [CompletionResultType]::ParameterName, 'The trtctl executable where the jobs run')
            [CompletionResult]::new('--format', '--format', [CompletionResultType]::ParameterName, 'What to print')
            [CompletionResult]::new('--image', '--image', [CompletionResultType]::ParameterName, 'k8s: the container image (else `image` of `[fleet.kubernetes]`)')
            [CompletionResult]::new('--namespace', '--namespace', [CompletionResultType]::ParameterName, 'k8s: the Jobs'' namespace')
            [CompletionResult]::new('--secret', '--secret', [CompletionResultType]::ParameterName, 'k8s: the Secret whose keys become the container''s environment (ARTIFACTS_*, AWS_*)')
            [CompletionResult]::new('--service-account', '--service-account', [CompletionResultType]::ParameterName, 'k8s: the pods'' ServiceAccount')
            [CompletionResult]::new('--cache-volume-claim', '--cache-volume-claim', [CompletionResultType]::ParameterName, 'k8s: a PersistentVolumeClaim mounted as the engine cache')
            [CompletionResult]::new('--runner-label', '--runner-label', [CompletionResultType]::ParameterName, 'github-matrix: each unit''s runner label; `{sm}` is `sm86`, `{arch}` is `sm_86`')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Same as `--format json`')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help (see more with ''--help'')')
            break
        }
        'trtctl;fleet;apply' {
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)')
            [CompletionResult]::new('--job-manifest', '--job-manifest', [CompletionResultType]::ParameterName, 'The manifest''s path where the jobs run (default: as given to -f; absolute for Ray)')
            [CompletionResult]::new('--trtctl', '--trtctl', [CompletionResultType]::ParameterName, 'The trtctl executable where the jobs run')
            [CompletionResult]::new('--ray', '--ray', [CompletionResultType]::ParameterName, 'The Ray dashboard''s address, where its Jobs API is')
            [CompletionResult]::new('--capacity-timeout', '--capacity-timeout', [CompletionResultType]::ParameterName, 'Report a unit as `no capacity` when no node has started its job after this many seconds')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;fleet;node-args' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print `{"resources": {...}}` instead of the arguments')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;fleet;help' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a GitHub Actions matrix')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Submit one Ray job per unit to a running Ray cluster and wait on them')
            [CompletionResult]::new('node-args', 'node-args', [CompletionResultType]::ParameterValue, 'Print the `ray start` arguments that offer this host''s GPUs to `trtctl fleet apply`')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;fleet;help;plan' {
            break
        }
        'trtctl;fleet;help;apply' {
            break
        }
        'trtctl;fleet;help;node-args' {
            break
        }
        'trtctl;fleet;help;help' {
            break
        }
        'trtctl;export' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('triton', 'triton', [CompletionResultType]::ParameterValue, 'A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;export;triton' {
            [CompletionResult]::new('--repo', '--repo', [CompletionResultType]::ParameterName, 'The model repository directory')
            [CompletionResult]::new('--model-name-from', '--model-name-from', [CompletionResultType]::ParameterName, 'Name each Triton model after the engine''s model name or its family')
            [CompletionResult]::new('--repo-version', '--repo-version', [CompletionResultType]::ParameterName, 'Triton''s version directory: a positive number without leading zeros')
            [CompletionResult]::new('--lock', '--lock', [CompletionResultType]::ParameterName, 'The lock whose engines to export (default: engines.lock beside the manifest)')
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;export;help' {
            [CompletionResult]::new('triton', 'triton', [CompletionResultType]::ParameterValue, 'A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;export;help;triton' {
            break
        }
        'trtctl;export;help;help' {
            break
        }
        'trtctl;cache' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List cached engines with size, age, last use and sidecar status')
            [CompletionResult]::new('clean', 'clean', [CompletionResultType]::ParameterValue, 'Remove engines the manifest no longer wants and interrupted leftovers')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash every engine against its sidecar; exit 1 if any is corrupt')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;cache;ls' {
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only these engines (`model`, `model:precision`, `model:precision:sm_NN`)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;cache;clean' {
            [CompletionResult]::new('--older-than', '--older-than', [CompletionResultType]::ParameterName, 'Also remove engines not used for this long (`30d`, `12h`, `2w`)')
            [CompletionResult]::new('--max-size', '--max-size', [CompletionResultType]::ParameterName, 'Evict least recently used engines until the cache fits (`50GiB`, `500MiB`)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--all', '--all', [CompletionResultType]::ParameterName, 'Empty the cache entirely')
            [CompletionResult]::new('--dry-run', '--dry-run', [CompletionResultType]::ParameterName, 'Show what would go and the bytes freed; remove nothing')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;cache;verify' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--fix', '--fix', [CompletionResultType]::ParameterName, 'Remove corrupt engines so the next apply fetches or rebuilds them')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;cache;help' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List cached engines with size, age, last use and sidecar status')
            [CompletionResult]::new('clean', 'clean', [CompletionResultType]::ParameterValue, 'Remove engines the manifest no longer wants and interrupted leftovers')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash every engine against its sidecar; exit 1 if any is corrupt')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;cache;help;ls' {
            break
        }
        'trtctl;cache;help;clean' {
            break
        }
        'trtctl;cache;help;verify' {
            break
        }
        'trtctl;cache;help;help' {
            break
        }
        'trtctl;key' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key (`NAME:base64`) to stdout')
            [CompletionResult]::new('public', 'public', [CompletionResultType]::ParameterValue, 'Print the public key (`NAME:base64`) of a secret key file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;key;generate' {
            [CompletionResult]::new('--out', '--out', [CompletionResultType]::ParameterName, 'Where the secret key goes; an existing file is never overwritten')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;key;public' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;key;help' {
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key (`NAME:base64`) to stdout')
            [CompletionResult]::new('public', 'public', [CompletionResultType]::ParameterValue, 'Print the public key (`NAME:base64`) of a secret key file')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;key;help;generate' {
            break
        }
        'trtctl;key;help;public' {
            break
        }
        'trtctl;key;help;help' {
            break
        }
        'trtctl;sign' {
            [CompletionResult]::new('--target', '--target', [CompletionResultType]::ParameterName, 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)')
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;gpus' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;doctor' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('--json', '--json', [CompletionResultType]::ParameterName, 'Print JSON')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;completions' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;man' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;schema' {
            [CompletionResult]::new('-f', '-f', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--manifest', '--manifest', [CompletionResultType]::ParameterName, 'The manifest to read')
            [CompletionResult]::new('--gpu-arch', '--gpu-arch', [CompletionResultType]::ParameterName, 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build')
            [CompletionResult]::new('--gpu-model', '--gpu-model', [CompletionResultType]::ParameterName, 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)')
            [CompletionResult]::new('--color', '--color', [CompletionResultType]::ParameterName, 'When to color output')
            [CompletionResult]::new('-v', '-v', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('--verbose', '--verbose', [CompletionResultType]::ParameterName, 'Say more (repeat for more)')
            [CompletionResult]::new('-q', '-q', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('--quiet', '--quiet', [CompletionResultType]::ParameterName, 'Say only what went wrong')
            [CompletionResult]::new('-h', '-h', [CompletionResultType]::ParameterName, 'Print help')
            [CompletionResult]::new('--help', '--help', [CompletionResultType]::ParameterName, 'Print help')
            break
        }
        'trtctl;help' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'Show what apply would fetch, build, upload or rebuild, and why')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Make the cache match the manifest: fetch, build and upload what the plan says')
            [CompletionResult]::new('ensure', 'ensure', [CompletionResultType]::ParameterValue, 'One engine without a manifest: print its path and where it came from (local_cache, remote, built)')
            [CompletionResult]::new('lock', 'lock', [CompletionResultType]::ParameterValue, 'Pin the engines of the manifest that exist (local cache or remote) in engines.lock')
            [CompletionResult]::new('fetch', 'fetch', [CompletionResultType]::ParameterValue, 'Install the engines engines.lock pins for this host''s GPUs: no ONNX, trtexec or TensorRT needed')
            [CompletionResult]::new('fleet', 'fleet', [CompletionResultType]::ParameterValue, 'Fan builds out to a fleet: Kubernetes Jobs, a GitHub Actions matrix, or Ray jobs')
            [CompletionResult]::new('export', 'export', [CompletionResultType]::ParameterValue, 'Lay out pinned engines for a model server')
            [CompletionResult]::new('cache', 'cache', [CompletionResultType]::ParameterValue, 'Inspect, prune and check the local engine cache')
            [CompletionResult]::new('key', 'key', [CompletionResultType]::ParameterValue, 'Signing keys: make one, print its public key')
            [CompletionResult]::new('sign', 'sign', [CompletionResultType]::ParameterValue, 'Sign the engines already in the remote with this machine''s key (TRTCTL_SIGNING_KEY_FILE)')
            [CompletionResult]::new('gpus', 'gpus', [CompletionResultType]::ParameterValue, 'Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do')
            [CompletionResult]::new('completions', 'completions', [CompletionResultType]::ParameterValue, 'Print shell completions')
            [CompletionResult]::new('man', 'man', [CompletionResultType]::ParameterValue, 'Print the man page (roff)')
            [CompletionResult]::new('schema', 'schema', [CompletionResultType]::ParameterValue, 'Print the JSON Schema of engines.toml, for editors')
            [CompletionResult]::new('help', 'help', [CompletionResultType]::ParameterValue, 'Print this message or the help of the given subcommand(s)')
            break
        }
        'trtctl;help;plan' {
            break
        }
        'trtctl;help;apply' {
            break
        }
        'trtctl;help;ensure' {
            break
        }
        'trtctl;help;lock' {
            break
        }
        'trtctl;help;fetch' {
            break
        }
        'trtctl;help;fleet' {
            [CompletionResult]::new('plan', 'plan', [CompletionResultType]::ParameterValue, 'The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a GitHub Actions matrix')
            [CompletionResult]::new('apply', 'apply', [CompletionResultType]::ParameterValue, 'Submit one Ray job per unit to a running Ray cluster and wait on them')
            [CompletionResult]::new('node-args', 'node-args', [CompletionResultType]::ParameterValue, 'Print the `ray start` arguments that offer this host''s GPUs to `trtctl fleet apply`')
            break
        }
        'trtctl;help;fleet;plan' {
            break
        }
        'trtctl;help;fleet;apply' {
            break
        }
        'trtctl;help;fleet;node-args' {
            break
        }
        'trtctl;help;export' {
            [CompletionResult]::new('triton', 'triton', [CompletionResultType]::ParameterValue, 'A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames')
            break
        }
        'trtctl;help;export;triton' {
            break
        }
        'trtctl;help;cache' {
            [CompletionResult]::new('ls', 'ls', [CompletionResultType]::ParameterValue, 'List cached engines with size, age, last use and sidecar status')
            [CompletionResult]::new('clean', 'clean', [CompletionResultType]::ParameterValue, 'Remove engines the manifest no longer wants and interrupted leftovers')
            [CompletionResult]::new('verify', 'verify', [CompletionResultType]::ParameterValue, 'Re-hash every engine against its sidecar; exit 1 if any is corrupt')
            break
        }
        'trtctl;help;cache;ls' {
            break
        }
        'trtctl;help;cache;clean' {
            break
        }
        'trtctl;help;cache;verify' {
            break
        }
        'trtctl;help;key' {
            [CompletionResult]::new('generate', 'generate', [CompletionResultType]::ParameterValue, 'Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key (`NAME:base64`) to stdout')
            [CompletionResult]::new('public', 'public', [CompletionResultType]::ParameterValue, 'Print the public key (`NAME:base64`) of a secret key file')
            break
        }
        'trtctl;help;key;generate' {
            break
        }
        'trtctl;help;key;public' {
            break
        }
        'trtctl;help;sign' {
            break
        }
        'trtctl;help;gpus' {
            break
        }
        'trtctl;help;completions' {
            break
        }
        'trtctl;help;man' {
            break
        }
        'trtctl;help;schema' {
            break
        }
        'trtctl;help;help' {
            break
        }
    })

    $completions.Where{ $_.CompletionText -like "$wordToComplete*" } |
        Sort-Object -Property ListItemText
}
