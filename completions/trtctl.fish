# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_trtctl_global_optspecs
    string join \n f/manifest= gpu-arch= gpu-model= color= v/verbose q/quiet h/help V/version
end

function __fish_trtctl_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_trtctl_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_trtctl_using_subcommand
    set -l cmd (__fish_trtctl_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c trtctl -n "__fish_trtctl_needs_command" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_needs_command" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_needs_command" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_needs_command" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_needs_command" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_needs_command" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c trtctl -n "__fish_trtctl_needs_command" -s V -l version -d 'Print version'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "plan" -d 'Show what apply would fetch, build, upload or rebuild, and why'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "apply" -d 'Make the cache match the manifest: fetch, build and upload what the plan says'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "ensure" -d 'One engine without a manifest: print its path and where it came from (local_cache, remote, built)'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "lock" -d 'Pin the engines of the manifest that exist (local cache or remote) in engines.lock'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "fetch" -d 'Install the engines engines.lock pins for this host\'s GPUs: no ONNX, trtexec or TensorRT needed'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "fleet" -d 'Fan builds out to a fleet: Kubernetes Jobs, a GitHub Actions matrix, or Ray jobs'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "export" -d 'Lay out pinned engines for a model server'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "cache" -d 'Inspect, prune and check the local engine cache'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "key" -d 'Signing keys: make one, print its public key'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "sign" -d 'Sign the engines already in the remote with this machine\'s key (TRTCTL_SIGNING_KEY_FILE)'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "gpus" -d 'Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "doctor" -d 'Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "completions" -d 'Print shell completions'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "man" -d 'Print the man page (roff)'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "schema" -d 'Print the JSON Schema of engines.toml, for editors'
complete -c trtctl -n "__fish_trtctl_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l target -d 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l out -d 'Save the plan as JSON, for `trtctl apply FILE` later' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l json -d 'Print the plan as JSON instead of text'
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l detailed-exitcode -d 'Exit 2 when changes are pending, 3 when some engines cannot be built here (0 = nothing to do)'
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l graph -d 'Print the action graph in Graphviz DOT instead of text'
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l no-upload -d 'Plan to publish nothing to the remote (fetches still happen)'
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -l locked -d 'Fail (exit 1, showing the difference) if engines.lock would change, like `cargo --locked`'
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand plan" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l force-rebuild -d 'Rebuild everything, or only engines matching SELECTOR (e.g. `arcface_r100:fp16`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l target -d 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -s j -l jobs -d 'Concurrent transfers (builds run one per local GPU)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l keep-going -d 'Finish everything that does not depend on a failure (the exit code still says it failed)'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l allow-missing -d 'Succeed even if some engines cannot be built here and are not in the remote'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l no-upload -d 'Publish nothing to the remote (fetches still happen)'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l no-shared-timing-cache -d 'Neither fetch nor publish timing caches through the remote (the local one is still used)'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l dry-run -d 'Only show the plan (same as `trtctl plan`)'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l json -d 'Print one JSON event per line instead of progress'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -l locked -d 'Fail (exit 1, showing the difference) if engines.lock would change, like `cargo --locked`'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand apply" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l onnx -d 'The ONNX model' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l precision -d 'fp32, fp16, bf16, int8, fp8 or best' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l batch-size -d 'The largest batch the engine must take (the profile is 1..=N, optimized for N)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l name -d 'Model name in the engine\'s file name (default: the ONNX file\'s stem)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l version -d 'Model version (default: the first 8 hex digits of the ONNX sha256)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l remote -d 'A remote engine cache to fetch from and upload to (`s3://bucket/prefix` or `file:///dir`); default: TRTCTL_REMOTE, else s3://screenalytics-artifacts/engines at ARTIFACTS_ENDPOINT, else none' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l gpu -d 'Build on this GPU (device index; default: the first)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l timeout -d 'Give up after this many seconds; nothing half-written is committed' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l hardware-compatibility -d 'TensorRT\'s hardware compatibility level (`ampere+`: one engine for every GPU of sm_80 or later)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l no-remote -d 'Only the local cache and the local GPU, whatever the environment says'
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l force-rebuild -d 'Build again even if a current engine is cached locally or remotely'
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l no-upload -d 'Publish nothing to the remote (fetches still happen)'
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l version-compatible -d 'Build version-compatible (a newer TensorRT may load it)'
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -l json -d 'Print `{"path": ..., "source": ...}`'
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand ensure" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand lock" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand lock" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand lock" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand lock" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand lock" -l allow-missing -d 'Lock the engines that exist and list the others as missing, instead of failing'
complete -c trtctl -n "__fish_trtctl_using_subcommand lock" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand lock" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand lock" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -l lock -d 'The lock to install (default: engines.lock beside the manifest)' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -l target -d 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -s j -l jobs -d 'Concurrent downloads' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -l json -d 'Print one JSON object (per-engine status) instead of lines'
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand fetch" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -f -a "plan" -d 'The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a GitHub Actions matrix'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -f -a "apply" -d 'Submit one Ray job per unit to a running Ray cluster and wait on them'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -f -a "node-args" -d 'Print the `ray start` arguments that offer this host\'s GPUs to `trtctl fleet apply`'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and not __fish_seen_subcommand_from plan apply node-args help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l target -d 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l job-manifest -d 'The manifest\'s path where the jobs run (default: as given to -f; absolute for Ray)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l trtctl -d 'The trtctl executable where the jobs run' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l format -d 'What to print' -r -f -a "text\t''
json\t''
k8s\t'batch/v1 Jobs as multi-document YAML'
k8s-json\t'batch/v1 Jobs as one JSON `List`'
github-matrix\t'`{"include": [...]}` for `strategy.matrix: ${{ fromJSON(...) }}`'"
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l image -d 'k8s: the container image (else `image` of `[fleet.kubernetes]`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l namespace -d 'k8s: the Jobs\' namespace' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l secret -d 'k8s: the Secret whose keys become the container\'s environment (ARTIFACTS_*, AWS_*)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l service-account -d 'k8s: the pods\' ServiceAccount' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l cache-volume-claim -d 'k8s: a PersistentVolumeClaim mounted as the engine cache' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l runner-label -d 'github-matrix: each unit\'s runner label; `{sm}` is `sm86`, `{arch}` is `sm_86`' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -l json -d 'Same as `--format json`'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from plan" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -l target -d 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -l job-manifest -d 'The manifest\'s path where the jobs run (default: as given to -f; absolute for Ray)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -l trtctl -d 'The trtctl executable where the jobs run' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -l ray -d 'The Ray dashboard\'s address, where its Jobs API is' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -l capacity-timeout -d 'Report a unit as `no capacity` when no node has started its job after this many seconds' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from apply" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from node-args" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from node-args" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from node-args" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from node-args" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from node-args" -l json -d 'Print `{"resources": {...}}` instead of the arguments'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from node-args" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from node-args" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from node-args" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "plan" -d 'The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a GitHub Actions matrix'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "apply" -d 'Submit one Ray job per unit to a running Ray cluster and wait on them'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "node-args" -d 'Print the `ray start` arguments that offer this host\'s GPUs to `trtctl fleet apply`'
complete -c trtctl -n "__fish_trtctl_using_subcommand fleet; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and not __fish_seen_subcommand_from triton help" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and not __fish_seen_subcommand_from triton help" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and not __fish_seen_subcommand_from triton help" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and not __fish_seen_subcommand_from triton help" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and not __fish_seen_subcommand_from triton help" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and not __fish_seen_subcommand_from triton help" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and not __fish_seen_subcommand_from triton help" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and not __fish_seen_subcommand_from triton help" -f -a "triton" -d 'A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and not __fish_seen_subcommand_from triton help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -l repo -d 'The model repository directory' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -l model-name-from -d 'Name each Triton model after the engine\'s model name or its family' -r -f -a "model\t''
family\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -l repo-version -d 'Triton\'s version directory: a positive number without leading zeros' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -l lock -d 'The lock whose engines to export (default: engines.lock beside the manifest)' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -l target -d 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from triton" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "triton" -d 'A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames'
complete -c trtctl -n "__fish_trtctl_using_subcommand export; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -f -a "ls" -d 'List cached engines with size, age, last use and sidecar status'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -f -a "clean" -d 'Remove engines the manifest no longer wants and interrupted leftovers'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -f -a "verify" -d 'Re-hash every engine against its sidecar; exit 1 if any is corrupt'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and not __fish_seen_subcommand_from ls clean verify help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from ls" -l target -d 'Only these engines (`model`, `model:precision`, `model:precision:sm_NN`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from ls" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from ls" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from ls" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from ls" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from ls" -l json -d 'Print JSON'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from ls" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from ls" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from ls" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -l older-than -d 'Also remove engines not used for this long (`30d`, `12h`, `2w`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -l max-size -d 'Evict least recently used engines until the cache fits (`50GiB`, `500MiB`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -l all -d 'Empty the cache entirely'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -l dry-run -d 'Show what would go and the bytes freed; remove nothing'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from clean" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from verify" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from verify" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from verify" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from verify" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from verify" -l fix -d 'Remove corrupt engines so the next apply fetches or rebuilds them'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from verify" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from verify" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from verify" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "ls" -d 'List cached engines with size, age, last use and sidecar status'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "clean" -d 'Remove engines the manifest no longer wants and interrupted leftovers'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "verify" -d 'Re-hash every engine against its sidecar; exit 1 if any is corrupt'
complete -c trtctl -n "__fish_trtctl_using_subcommand cache; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -f -a "generate" -d 'Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key (`NAME:base64`) to stdout'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -f -a "public" -d 'Print the public key (`NAME:base64`) of a secret key file'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and not __fish_seen_subcommand_from generate public help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from generate" -l out -d 'Where the secret key goes; an existing file is never overwritten' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from generate" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from generate" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from generate" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from generate" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from generate" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from generate" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from generate" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from public" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from public" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from public" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from public" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from public" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from public" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from public" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "generate" -d 'Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key (`NAME:base64`) to stdout'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "public" -d 'Print the public key (`NAME:base64`) of a secret key file'
complete -c trtctl -n "__fish_trtctl_using_subcommand key; and __fish_seen_subcommand_from help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand sign" -l target -d 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand sign" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand sign" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand sign" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand sign" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand sign" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand sign" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand sign" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand gpus" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand gpus" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand gpus" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand gpus" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand gpus" -l json -d 'Print JSON'
complete -c trtctl -n "__fish_trtctl_using_subcommand gpus" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand gpus" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand gpus" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand doctor" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand doctor" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand doctor" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand doctor" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand doctor" -l json -d 'Print JSON'
complete -c trtctl -n "__fish_trtctl_using_subcommand doctor" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand doctor" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand doctor" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand completions" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand completions" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand completions" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand completions" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand completions" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand completions" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand completions" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand man" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand man" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand man" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand man" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand man" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand man" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand man" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand schema" -s f -l manifest -d 'The manifest to read' -r -F
complete -c trtctl -n "__fish_trtctl_using_subcommand schema" -l gpu-arch -d 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand schema" -l gpu-model -d 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)' -r
complete -c trtctl -n "__fish_trtctl_using_subcommand schema" -l color -d 'When to color output' -r -f -a "auto\t''
always\t''
never\t''"
complete -c trtctl -n "__fish_trtctl_using_subcommand schema" -s v -l verbose -d 'Say more (repeat for more)'
complete -c trtctl -n "__fish_trtctl_using_subcommand schema" -s q -l quiet -d 'Say only what went wrong'
complete -c trtctl -n "__fish_trtctl_using_subcommand schema" -s h -l help -d 'Print help'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "plan" -d 'Show what apply would fetch, build, upload or rebuild, and why'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "apply" -d 'Make the cache match the manifest: fetch, build and upload what the plan says'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "ensure" -d 'One engine without a manifest: print its path and where it came from (local_cache, remote, built)'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "lock" -d 'Pin the engines of the manifest that exist (local cache or remote) in engines.lock'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "fetch" -d 'Install the engines engines.lock pins for this host\'s GPUs: no ONNX, trtexec or TensorRT needed'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "fleet" -d 'Fan builds out to a fleet: Kubernetes Jobs, a GitHub Actions matrix, or Ray jobs'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "export" -d 'Lay out pinned engines for a model server'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "cache" -d 'Inspect, prune and check the local engine cache'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "key" -d 'Signing keys: make one, print its public key'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "sign" -d 'Sign the engines already in the remote with this machine\'s key (TRTCTL_SIGNING_KEY_FILE)'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "gpus" -d 'Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "completions" -d 'Print shell completions'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "man" -d 'Print the man page (roff)'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "schema" -d 'Print the JSON Schema of engines.toml, for editors'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and not __fish_seen_subcommand_from plan apply ensure lock fetch fleet export cache key sign gpus completions man schema help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and __fish_seen_subcommand_from fleet" -f -a "plan" -d 'The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a GitHub Actions matrix'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and __fish_seen_subcommand_from fleet" -f -a "apply" -d 'Submit one Ray job per unit to a running Ray cluster and wait on them'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and __fish_seen_subcommand_from fleet" -f -a "node-args" -d 'Print the `ray start` arguments that offer this host\'s GPUs to `trtctl fleet apply`'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and __fish_seen_subcommand_from export" -f -a "triton" -d 'A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "ls" -d 'List cached engines with size, age, last use and sidecar status'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "clean" -d 'Remove engines the manifest no longer wants and interrupted leftovers'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and __fish_seen_subcommand_from cache" -f -a "verify" -d 'Re-hash every engine against its sidecar; exit 1 if any is corrupt'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "generate" -d 'Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key (`NAME:base64`) to stdout'
complete -c trtctl -n "__fish_trtctl_using_subcommand help; and __fish_seen_subcommand_from key" -f -a "public" -d 'Print the public key (`NAME:base64`) of a secret key file'
