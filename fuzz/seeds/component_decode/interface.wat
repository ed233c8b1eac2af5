(component
  (import "wasi:io/streams@0.2.0" (instance $streams
    (export "output-stream" (type $os (sub resource)))
    (type $err (variant (case "closed")))
    (export "stream-error" (type $e (eq $err)))
    (export "[method]output-stream.write"
      (func (param "self" (borrow $os)) (param "contents" (list u8)) (result (result (error $e)))))))
  (alias export $streams "output-stream" (type $os))
  (alias export $streams "[method]output-stream.write" (func $write))
  (core module $mem (memory (export "mem") 1)
    (func (export "realloc") (param i32 i32 i32 i32) (result i32) i32.const 0))
  (core instance $mi (instantiate $mem))
  (core func $write_lowered (canon lower (func $write) (memory (core memory $mi "mem"))))
  (core func $drop (canon resource.drop $os))
  (core module $user
    (import "host" "write" (func (param i32 i32 i32 i32)))
    (import "host" "drop" (func (param i32))))
  (core instance $hi (export "write" (func $write_lowered)) (export "drop" (func $drop)))
  (core instance (instantiate $user (with "host" (instance $hi))))
)
