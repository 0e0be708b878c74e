# The two quick-start commands: `make demo` and `make test`. Each sets up, builds, then runs.
BUILD ?= build
CMAKE_FLAGS ?=
# WERROR=ON makes warnings in gqaforge's own code errors (CI sets it; see README).
WERROR ?= OFF
JOBS ?= $(shell nproc)

.PHONY: setup build demo test gpu-test calibrate-loss format format-check clean

setup:
	@bash tools/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release -DGQAFORGE_WERROR=$(WERROR) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# The main job on the embedded defaults: the cost-optimal GQA search at 128K context with the
# bundled loss model and measured H200 costs, then the kernels it would run, compiled (no GPU
# needed).
demo: build
	@$(BUILD)/tools/gqaforge demo

# The whole test suite (GPU tests skip themselves without a device).
test: build
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# Only the tests that need a GPU (run on a machine with one).
gpu-test: build
	@ctest --test-dir $(BUILD) -L gpu --output-on-failure

# Refits the bundled loss model from data/loss-calibration.json (docs/loss-model.md; a few
# minutes) and writes it over data/loss-model-default.json.
calibrate-loss: build
	@cmake --build $(BUILD) --target gqaforge_calibrate_loss
	@$(BUILD)/tools/gqaforge_calibrate_loss -o data/loss-model-default.json

# Formatting: apply .clang-format to every C++/CUDA source, or check it (CI does).
format:
	@bash tools/check_format.sh --fix

format-check:
	@bash tools/check_format.sh

clean:
	@rm -rf $(BUILD)
