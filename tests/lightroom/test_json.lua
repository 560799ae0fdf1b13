-- Pure Lua unit tests of DarkroomJSON (no server). Run: lua5.1 test_json.lua
local json = require "DarkroomJSON"

local failures, count = 0, 0
local function test(name, fn)
  count = count + 1
  local ok, err = pcall(fn)
  if not ok then
    failures = failures + 1
    io.stderr:write("FAIL ", name, ": ", tostring(err), "\n")
  end
end

local function eq(got, want, msg)
  if got ~= want then
    error((msg or "") .. " got " .. tostring(got) .. " want " .. tostring(want), 2)
  end
end

local function deep_eq(a, b)
  if type(a) ~= type(b) then return false end
  if type(a) ~= "table" then return a == b end
  if json.kind(a) ~= json.kind(b) and not (a == json.null or b == json.null) then return false end
  for k, v in pairs(a) do if not deep_eq(v, b[k]) then return false end end
  for k in pairs(b) do if a[k] == nil then return false end end
  return true
end

test("scalars encode", function()
  eq(json.encode(true), "true"); eq(json.encode(false), "false"); eq(json.encode(nil), "null")
  eq(json.encode(json.null), "null"); eq(json.encode(0), "0"); eq(json.encode(-0), "0")
  eq(json.encode(42), "42"); eq(json.encode(-7), "-7"); eq(json.encode(1.5), "1.5")
  eq(json.encode(0.1), "0.1"); eq(json.encode(2 ^ 52), "4503599627370496")
  eq(json.encode(1e300), "1e+300"); eq(json.encode("a"), '"a"')
  eq(tonumber(json.encode(1 / 3)), 1 / 3, "1/3 round trips")
end)

test("integral numbers never carry a fraction (the server wants integers for seq and ids)", function()
  eq(json.encode({ seq = 3000000000 }), '{"seq":3000000000}')
  eq(json.encode(12.0), "12")
end)

test("NaN and infinity are refused", function()
  for _, v in ipairs({ 0 / 0, math.huge, -math.huge }) do
    local ok = pcall(json.encode, v)
    eq(ok, false, tostring(v))
  end
end)

test("string escapes", function()
  eq(json.encode('q"b\\s/'), '"q\\"b\\\\s/"')
  eq(json.encode("\n\r\t\b\f"), '"\\n\\r\\t\\b\\f"')
  eq(json.encode("\0\1\31\127"), '"\\u0000\\u0001\\u001f\\u007f"')
  eq(json.encode("é日本😀"), '"é日本😀"', "UTF-8 passes through")
end)

test("tables: arrays, objects, empty, marked", function()
  eq(json.encode({ 1, 2, 3 }), "[1,2,3]")
  eq(json.encode({ b = 1, a = { x = true } }), '{"a":{"x":true},"b":1}')
  eq(json.encode({}), "[]", "an empty table is [] as the earlier plugin wrote it")
  eq(json.encode(json.object()), "{}")
  eq(json.encode(json.array()), "[]")
  eq(json.encode({ [1] = "a", [3] = "c" }), '{"1":"a","3":"c"}', "a sparse table is an object")
  eq(json.encode({ 1, 2, x = 3 }), '{"1":1,"2":2,"x":3}')
  eq(json.encode({ a = json.null }), '{"a":null}')
  eq(json.encode({ a = nil, b = 1 }), '{"b":1}', "nil fields are absent")
end)

test("cycles and odd values are refused", function()
  local t = {}; t.self = t
  eq(pcall(json.encode, t), false)
  eq(pcall(json.encode, print), false)
  eq(pcall(json.encode, { [true] = 1 }), false)
end)

test("decode scalars", function()
  eq(json.decode("true"), true); eq(json.decode("false"), false); eq(json.decode("null"), json.null)
  eq(json.decode("0"), 0); eq(json.decode("-12"), -12); eq(json.decode("1.25e2"), 125)
  eq(json.decode("-0.5E-3"), -0.0005); eq(json.decode("1E+2"), 100)
  eq(json.decode(' "x" '), "x"); eq(json.decode("9007199254740993"), 9007199254740992)
end)

test("decode unicode escapes", function()
  eq(json.decode('"\\u00e9"'), "é"); eq(json.decode('"\\u65e5\\u672c"'), "日本")
  eq(json.decode('"\\ud83d\\ude00"'), "😀", "a surrogate pair")
  eq(json.decode('"\\uD83D\\uDE00"'), "😀", "upper-case hex")
  eq(json.decode('"\\ud800x"'), "\239\191\189x", "a lone high surrogate is U+FFFD")
  eq(json.decode('"\\udc00"'), "\239\191\189", "a lone low surrogate is U+FFFD")
  eq(json.decode('"\\u0000"'), "\0")
  eq(json.decode('"\\"\\\\\\/\\b\\f\\n\\r\\t"'), '"\\/\b\f\n\r\t')
  eq(json.decode('"a\127b"'), "a\127b", "DEL is allowed raw")
end)

test("decode nested structures", function()
  local v = json.decode('{"a":[1,{"b":null},[]],"c":{},"d":"x"}')
  eq(v.a[1], 1); eq(v.a[2].b, json.null); eq(json.kind(v.a[3]), "array"); eq(#v.a, 3)
  eq(json.kind(v.c), "object"); eq(v.d, "x")
  eq(json.encode(v), '{"a":[1,{"b":null},[]],"c":{},"d":"x"}', "empty {} and [] keep their kind")
  local arr = json.decode("[null,1,null]")
  eq(#arr, 3); eq(arr[1], json.null); eq(json.encode(arr), "[null,1,null]")
end)

test("round trips", function()
  local samples = {
    '{"type":"job_progress","job_id":7,"progress":42.5,"stage":"rendering","message":"Applying preset…"}',
    '[[[[[[[[[[1]]]]]]]]]]', '{"":""}', '[-1.5e-10,1e+21,123456789]', '"\\u0001\\u001f"',
    '{"nested":{"deeper":{"list":[true,false,null,{"x":[]}]}}}',
  }
  for _, s in ipairs(samples) do
    local v = assert(json.decode(s))
    local again = json.encode(v)
    assert(deep_eq(json.decode(again), v), s .. " -> " .. again)
  end
end)

test("invalid JSON is refused with a position", function()
  local bad = { "", " ", "{", "[1,]", "[1 2]", '{"a" 1}', '{"a":1,}', "{a:1}", "01", "1.", ".5",
                "1e", "+1", "-", "tru", "nul", '"abc', '"\\x"', '"\\u12"', '"a\nb"', "[1] 2",
                "NaN", "Infinity", "'a'", '{"a":1}}', "1-2" }
  for _, s in ipairs(bad) do
    local v, err = json.decode(s)
    if v ~= nil or type(err) ~= "string" or not string.find(err, "char %d+") then
      error("accepted or no position: " .. string.format("%q", s) .. " -> " .. tostring(err))
    end
  end
  local v, err = json.decode(nil)
  eq(v, nil); assert(err)
end)

test("deep nesting is refused, not a stack overflow", function()
  local v, err = json.decode(string.rep("[", 1000) .. string.rep("]", 1000))
  eq(v, nil); assert(string.find(err, "nesting"), err)
  eq(json.decode(string.rep("[", 150) .. string.rep("]", 150)) ~= nil, true)
end)

test("a long string with many escapes decodes fast enough", function()
  local s = '"' .. string.rep("ab\\n\\u00e9", 20000) .. '"'
  local v = assert(json.decode(s))
  eq(#v, 20000 * 5)
end)

if failures > 0 then
  io.stderr:write(failures, " of ", count, " JSON tests failed\n")
  os.exit(1)
end
print("ok " .. count .. " JSON tests")
