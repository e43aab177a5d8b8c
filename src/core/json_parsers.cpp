#include "core/json_parsers.hpp"

namespace levee::core {

simdjson::dom::parser& thread_dom_parser() {
  thread_local simdjson::dom::parser parser;
  return parser;
}

simdjson::ondemand::parser& thread_ondemand_parser() {
  thread_local simdjson::ondemand::parser parser;
  return parser;
}

}  // namespace levee::core
