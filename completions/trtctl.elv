
use builtin;
use str;

set edit:completion:arg-completer[trtctl] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'trtctl'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'trtctl'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand plan 'Show what apply would fetch, build, upload or rebuild, and why'
            cand apply 'Make the cache match the manifest: fetch, build and upload what the plan says'
            cand ensure 'One engine without a manifest: print its path and where it came from (local_cache, remote, built)'
            cand lock 'Pin the engines of the manifest that exist (local cache or remote) in engines.lock'
            cand fetch 'Install the engines engines.lock pins for this host''s GPUs: no ONNX, trtexec or TensorRT needed'
            cand fleet 'Fan builds out to a fleet: Kubernetes Jobs, a GitHub Actions matrix, or Ray jobs'
            cand export 'Lay out pinned engines for a model server'
            cand cache 'Inspect, prune and check the local engine cache'
            cand key 'Signing keys: make one, print its public key'
            cand sign 'Sign the engines already in the remote with this machine''s key (TRTCTL_SIGNING_KEY_FILE)'
            cand gpus 'Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do'
            cand doctor 'Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do'
            cand completions 'Print shell completions'
            cand man 'Print the man page (roff)'
            cand schema 'Print the JSON Schema of engines.toml, for editors'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;plan'= {
            cand --target 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)'
            cand --out 'Save the plan as JSON, for `trtctl apply FILE` later'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --json 'Print the plan as JSON instead of text'
            cand --detailed-exitcode 'Exit 2 when changes are pending, 3 when some engines cannot be built here (0 = nothing to do)'
            cand --graph 'Print the action graph in Graphviz DOT instead of text'
            cand --no-upload 'Plan to publish nothing to the remote (fetches still happen)'
            cand --locked 'Fail (exit 1, showing the difference) if engines.lock would change, like `cargo --locked`'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;apply'= {
            cand --force-rebuild 'Rebuild everything, or only engines matching SELECTOR (e.g. `arcface_r100:fp16`)'
            cand --target 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)'
            cand -j 'Concurrent transfers (builds run one per local GPU)'
            cand --jobs 'Concurrent transfers (builds run one per local GPU)'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --keep-going 'Finish everything that does not depend on a failure (the exit code still says it failed)'
            cand --allow-missing 'Succeed even if some engines cannot be built here and are not in the remote'
            cand --no-upload 'Publish nothing to the remote (fetches still happen)'
            cand --no-shared-timing-cache 'Neither fetch nor publish timing caches through the remote (the local one is still used)'
            cand --dry-run 'Only show the plan (same as `trtctl plan`)'
            cand --json 'Print one JSON event per line instead of progress'
            cand --locked 'Fail (exit 1, showing the difference) if engines.lock would change, like `cargo --locked`'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;ensure'= {
            cand --onnx 'The ONNX model'
            cand --precision 'fp32, fp16, bf16, int8, fp8 or best'
            cand --batch-size 'The largest batch the engine must take (the profile is 1..=N, optimized for N)'
            cand --name 'Model name in the engine''s file name (default: the ONNX file''s stem)'
            cand --version 'Model version (default: the first 8 hex digits of the ONNX sha256)'
            cand --remote 'A remote engine cache to fetch from and upload to (`s3://bucket/prefix` or `file:///dir`); default: TRTCTL_REMOTE, else s3://screenalytics-artifacts/engines at ARTIFACTS_ENDPOINT, else none'
            cand --gpu 'Build on this GPU (device index; default: the first)'
            cand --timeout 'Give up after this many seconds; nothing half-written is committed'
            cand --hardware-compatibility 'TensorRT''s hardware compatibility level (`ampere+`: one engine for every GPU of sm_80 or later)'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --no-remote 'Only the local cache and the local GPU, whatever the environment says'
            cand --force-rebuild 'Build again even if a current engine is cached locally or remotely'
            cand --no-upload 'Publish nothing to the remote (fetches still happen)'
            cand --version-compatible 'Build version-compatible (a newer TensorRT may load it)'
            cand --json 'Print `{"path": ..., "source": ...}`'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;lock'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --allow-missing 'Lock the engines that exist and list the others as missing, instead of failing'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;fetch'= {
            cand --lock 'The lock to install (default: engines.lock beside the manifest)'
            cand --target 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)'
            cand -j 'Concurrent downloads'
            cand --jobs 'Concurrent downloads'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --json 'Print one JSON object (per-engine status) instead of lines'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;fleet'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
            cand plan 'The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a GitHub Actions matrix'
            cand apply 'Submit one Ray job per unit to a running Ray cluster and wait on them'
            cand node-args 'Print the `ray start` arguments that offer this host''s GPUs to `trtctl fleet apply`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;fleet;plan'= {
            cand --target 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)'
            cand --job-manifest 'The manifest''s path where the jobs run (default: as given to -f; absolute for Ray)'
            cand --trtctl 'The trtctl executable where the jobs run'
            cand --format 'What to print'
            cand --image 'k8s: the container image (else `image` of `[fleet.kubernetes]`)'
            cand --namespace 'k8s: the Jobs'' namespace'
            cand --secret 'k8s: the Secret whose keys become the container''s environment (ARTIFACTS_*, AWS_*)'
            cand --service-account 'k8s: the pods'' ServiceAccount'
            cand --cache-volume-claim 'k8s: a PersistentVolumeClaim mounted as the engine cache'
            cand --runner-label 'github-matrix: each unit''s runner label; `{sm}` is `sm86`, `{arch}` is `sm_86`'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --json 'Same as `--format json`'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'trtctl;fleet;apply'= {
            cand --target 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)'
            cand --job-manifest 'The manifest''s path where the jobs run (default: as given to -f; absolute for Ray)'
            cand --trtctl 'The trtctl executable where the jobs run'
            cand --ray 'The Ray dashboard''s address, where its Jobs API is'
            cand --capacity-timeout 'Report a unit as `no capacity` when no node has started its job after this many seconds'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;fleet;node-args'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --json 'Print `{"resources": {...}}` instead of the arguments'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;fleet;help'= {
            cand plan 'The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a GitHub Actions matrix'
            cand apply 'Submit one Ray job per unit to a running Ray cluster and wait on them'
            cand node-args 'Print the `ray start` arguments that offer this host''s GPUs to `trtctl fleet apply`'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;fleet;help;plan'= {
        }
        &'trtctl;fleet;help;apply'= {
        }
        &'trtctl;fleet;help;node-args'= {
        }
        &'trtctl;fleet;help;help'= {
        }
        &'trtctl;export'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
            cand triton 'A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;export;triton'= {
            cand --repo 'The model repository directory'
            cand --model-name-from 'Name each Triton model after the engine''s model name or its family'
            cand --repo-version 'Triton''s version directory: a positive number without leading zeros'
            cand --lock 'The lock whose engines to export (default: engines.lock beside the manifest)'
            cand --target 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;export;help'= {
            cand triton 'A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;export;help;triton'= {
        }
        &'trtctl;export;help;help'= {
        }
        &'trtctl;cache'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
            cand ls 'List cached engines with size, age, last use and sidecar status'
            cand clean 'Remove engines the manifest no longer wants and interrupted leftovers'
            cand verify 'Re-hash every engine against its sidecar; exit 1 if any is corrupt'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;cache;ls'= {
            cand --target 'Only these engines (`model`, `model:precision`, `model:precision:sm_NN`)'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --json 'Print JSON'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;cache;clean'= {
            cand --older-than 'Also remove engines not used for this long (`30d`, `12h`, `2w`)'
            cand --max-size 'Evict least recently used engines until the cache fits (`50GiB`, `500MiB`)'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --all 'Empty the cache entirely'
            cand --dry-run 'Show what would go and the bytes freed; remove nothing'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;cache;verify'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --fix 'Remove corrupt engines so the next apply fetches or rebuilds them'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;cache;help'= {
            cand ls 'List cached engines with size, age, last use and sidecar status'
            cand clean 'Remove engines the manifest no longer wants and interrupted leftovers'
            cand verify 'Re-hash every engine against its sidecar; exit 1 if any is corrupt'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;cache;help;ls'= {
        }
        &'trtctl;cache;help;clean'= {
        }
        &'trtctl;cache;help;verify'= {
        }
        &'trtctl;cache;help;help'= {
        }
        &'trtctl;key'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
            cand generate 'Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key (`NAME:base64`) to stdout'
            cand public 'Print the public key (`NAME:base64`) of a secret key file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;key;generate'= {
            cand --out 'Where the secret key goes; an existing file is never overwritten'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;key;public'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;key;help'= {
            cand generate 'Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key (`NAME:base64`) to stdout'
            cand public 'Print the public key (`NAME:base64`) of a secret key file'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;key;help;generate'= {
        }
        &'trtctl;key;help;public'= {
        }
        &'trtctl;key;help;help'= {
        }
        &'trtctl;sign'= {
            cand --target 'Only these engines: `model`, `model:precision`, `model:precision:sm_NN` (`*` matches any)'
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;gpus'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --json 'Print JSON'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;doctor'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand --json 'Print JSON'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;completions'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;man'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;schema'= {
            cand -f 'The manifest to read'
            cand --manifest 'The manifest to read'
            cand --gpu-arch 'Plan as if a GPU of this arch were here (repeat for several GPUs); only real GPUs build'
            cand --gpu-model 'The GPU model of the GPUs --gpu-arch simulates (`a10g`, or a CUDA name like `NVIDIA A10G`)'
            cand --color 'When to color output'
            cand -v 'Say more (repeat for more)'
            cand --verbose 'Say more (repeat for more)'
            cand -q 'Say only what went wrong'
            cand --quiet 'Say only what went wrong'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'trtctl;help'= {
            cand plan 'Show what apply would fetch, build, upload or rebuild, and why'
            cand apply 'Make the cache match the manifest: fetch, build and upload what the plan says'
            cand ensure 'One engine without a manifest: print its path and where it came from (local_cache, remote, built)'
            cand lock 'Pin the engines of the manifest that exist (local cache or remote) in engines.lock'
            cand fetch 'Install the engines engines.lock pins for this host''s GPUs: no ONNX, trtexec or TensorRT needed'
            cand fleet 'Fan builds out to a fleet: Kubernetes Jobs, a GitHub Actions matrix, or Ray jobs'
            cand export 'Lay out pinned engines for a model server'
            cand cache 'Inspect, prune and check the local engine cache'
            cand key 'Signing keys: make one, print its public key'
            cand sign 'Sign the engines already in the remote with this machine''s key (TRTCTL_SIGNING_KEY_FILE)'
            cand gpus 'Local GPUs, TensorRT, trtexec, the cache and the remote: what this machine can do'
            cand completions 'Print shell completions'
            cand man 'Print the man page (roff)'
            cand schema 'Print the JSON Schema of engines.toml, for editors'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'trtctl;help;plan'= {
        }
        &'trtctl;help;apply'= {
        }
        &'trtctl;help;ensure'= {
        }
        &'trtctl;help;lock'= {
        }
        &'trtctl;help;fetch'= {
        }
        &'trtctl;help;fleet'= {
            cand plan 'The builds a fleet must run, one unit per GPU kind: as text, JSON, Kubernetes Jobs or a GitHub Actions matrix'
            cand apply 'Submit one Ray job per unit to a running Ray cluster and wait on them'
            cand node-args 'Print the `ray start` arguments that offer this host''s GPUs to `trtctl fleet apply`'
        }
        &'trtctl;help;fleet;plan'= {
        }
        &'trtctl;help;fleet;apply'= {
        }
        &'trtctl;help;fleet;node-args'= {
        }
        &'trtctl;help;export'= {
            cand triton 'A Triton model repository: `REPO/{model}/{N}/model_sm_NN.plan` and config.pbtxt with cc_model_filenames'
        }
        &'trtctl;help;export;triton'= {
        }
        &'trtctl;help;cache'= {
            cand ls 'List cached engines with size, age, last use and sidecar status'
            cand clean 'Remove engines the manifest no longer wants and interrupted leftovers'
            cand verify 'Re-hash every engine against its sidecar; exit 1 if any is corrupt'
        }
        &'trtctl;help;cache;ls'= {
        }
        &'trtctl;help;cache;clean'= {
        }
        &'trtctl;help;cache;verify'= {
        }
        &'trtctl;help;key'= {
            cand generate 'Make an ed25519 key pair: the secret key goes to FILE (mode 0600), the public key (`NAME:base64`) to stdout'
            cand public 'Print the public key (`NAME:base64`) of a secret key file'
        }
        &'trtctl;help;key;generate'= {
        }
        &'trtctl;help;key;public'= {
        }
        &'trtctl;help;sign'= {
        }
        &'trtctl;help;gpus'= {
        }
        &'trtctl;help;completions'= {
        }
        &'trtctl;help;man'= {
        }
        &'trtctl;help;schema'= {
        }
        &'trtctl;help;help'= {
        }
    ]
    $completions[$command]
}
