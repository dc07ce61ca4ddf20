// core/json_scope.h -- nlohmann::json values that are safe to destroy when
// memory runs out.
//
// nlohmann::json's destructor (3.11) moves a non-empty array's or object's
// children into a std::vector it allocates, and the destructor is noexcept:
// out of memory there is std::terminate, inside the host process. A
// JsonScope empties its value bottom-up before it is destroyed: an empty
// container, and a string or number, are destroyed without allocating.
// Start from a complete object (`= object()`), never from null: operator[]
// on a null value sets the type before allocating the container, and a value
// left that way by a failed allocation crashes its destructor.
//   nlohmann::ordered_json j = nlohmann::ordered_json::object();
//   JsonScope scope(j);
//   j["ok"] = true;  ... return j.dump();
#pragma once

#include <cstddef>

namespace automigrate {

// Empties `j`'s containers, innermost first, without allocating.
// (A container whose allocation failed has the type and a null pointer:
// get_ptr, unlike get_ref, does not throw for it.)
template <typename Json>
void EmptyJson(Json& j) noexcept {
  if (auto* array = j.template get_ptr<typename Json::array_t*>()) {
    for (Json& child : *array) EmptyJson(child);
    array->clear();
  } else if (auto* object = j.template get_ptr<typename Json::object_t*>()) {
    for (auto& entry : *object) EmptyJson(entry.second);
    object->clear();
  }
}

// nlohmann::ordered_json's object is a std::vector of pair<const key,
// value>, which cannot be moved: growing it copies every member, and when a
// copy runs out of memory the copies made so far are destroyed, which for a
// non-empty container allocates inside a noexcept destructor. Reserve the
// members of an object that will hold containers before adding them.
template <typename Json>
void ReserveMembers(Json& j, size_t n) {
  if (auto* object = j.template get_ptr<typename Json::object_t*>()) {
    if constexpr (requires { object->reserve(n); }) object->reserve(n);
  }
}

template <typename Json>
class JsonScope {
 public:
  explicit JsonScope(Json& j) noexcept : j_(j) {}
  ~JsonScope() { EmptyJson(j_); }
  JsonScope(const JsonScope&) = delete;
  JsonScope& operator=(const JsonScope&) = delete;

 private:
  Json& j_;
};

}  // namespace automigrate
