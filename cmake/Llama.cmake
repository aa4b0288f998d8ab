# Imports llama.cpp (static libllama + ggml, CPU) as the target llama_cpp, from the prefix that
# scripts/llama.sh builds and links at third_party/llama (pinned node-llama-cpp bundle).
set(HYBRIDGATE_LLAMA_ROOT "${PROJECT_SOURCE_DIR}/third_party/llama" CACHE PATH
    "llama.cpp prefix built by scripts/llama.sh")
get_filename_component(_llama_root "${HYBRIDGATE_LLAMA_ROOT}" REALPATH)
if(NOT EXISTS "${_llama_root}/include/llama.h")
  message(FATAL_ERROR "llama.cpp not found at ${HYBRIDGATE_LLAMA_ROOT}: run scripts/setup.sh "
                      "(it builds the pinned llama.cpp once and caches it)")
endif()
add_library(llama_cpp INTERFACE)
target_include_directories(llama_cpp SYSTEM INTERFACE "${_llama_root}/include")
# The static archives reference each other (backend registry <-> CPU backend): link as a group.
target_link_libraries(llama_cpp INTERFACE
  -Wl,--start-group
  "${_llama_root}/lib/libllama.a" "${_llama_root}/lib/libggml.a"
  "${_llama_root}/lib/libggml-cpu.a" "${_llama_root}/lib/libggml-base.a"
  -Wl,--end-group
  Threads::Threads m dl)
set(HYBRIDGATE_LLAMA_VOCAB "${_llama_root}/share/ggml-vocab-llama-spm.gguf")
set(HYBRIDGATE_LLAMA_SERVER "${_llama_root}/bin/llama-server")
