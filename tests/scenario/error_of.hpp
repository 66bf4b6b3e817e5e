// Test helper: the message of the InputError a callable throws, or "<no error>".
#pragma once

#include <string>

#include "sim/scenario/params.hpp"

namespace ledgerfl::scenario::test {

template <class F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const InputError& e) {
    return e.what();
  }
  return "<no error>";
}

}  // namespace ledgerfl::scenario::test
