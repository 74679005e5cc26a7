# trtctl in NVIDIA's TensorRT container: TensorRT, trtexec and CUDA from NGC, trtctl on top, for
# builders (`trtctl apply`) and deploy hosts (`trtctl fetch`). docs/install.md#container.
#
#   scripts/dist.sh                     # the wheels, into dist/ (or use a release's)
#   docker build -t trtctl:trt-25.08 --build-arg TENSORRT_TAG=25.08-py3 .
#   docker run --gpus all -v "$PWD:/work" -w /work trtctl:trt-25.08 trtctl plan
#
# TENSORRT_TAG picks the image, and with it the TensorRT every engine is built with and named
# after: keep it the one your deployment runs. NGC builds these tags for x86_64 and arm64
# (SBSA: GH200, GB200); pip picks the wheel of the image's arch from dist/.
ARG TENSORRT_TAG=25.08-py3
FROM nvcr.io/nvidia/tensorrt:${TENSORRT_TAG}

# From the wheels in dist/ (no network), or from PyPI: `pip install trtctl` instead.
COPY dist/ /tmp/trtctl-dist/
RUN python3 -m pip install --no-cache-dir --no-index --find-links /tmp/trtctl-dist trtctl \
    && rm -rf /tmp/trtctl-dist

# trtctl looks for trtexec on PATH and in /usr/src/tensorrt/bin; the image keeps it in one of
# these places depending on its release: fail the build, not the first `apply`, if none.
RUN trtexec_path=$(command -v trtexec || ls /opt/tensorrt/bin/trtexec /usr/src/tensorrt/bin/trtexec 2>/dev/null | head -n 1) \
    && test -n "$trtexec_path" \
    && ln -sf "$trtexec_path" /usr/local/bin/trtexec \
    && trtctl --version

ENTRYPOINT []
CMD ["trtctl", "--help"]
