--[[
DarkroomJSON: a small JSON encoder and decoder in plain Lua 5.1.

Lightroom's SDK has no JSON library, so the plugin ships this one. It has no
dependencies and uses only the string, table and math libraries, so it runs
the same inside Lightroom and under a stock `lua5.1`.

  local json = require "DarkroomJSON"
  local text = json.encode({ type = "subscribe", channels = { "jobs" } })
  local value, err = json.decode(text)     -- value is nil and err a message on bad input

Decoding
  * objects become tables marked as objects, arrays become tables marked as
    arrays (1-based), so `json.encode(json.decode(s))` gives the same JSON back,
    empty `{}` and `[]` included;
  * `null` becomes `json.null` (a unique sentinel), so an array keeps its length
    and an object keeps its key; test with `v == json.null` or `json.isnull(v)`;
  * `\uXXXX` escapes (surrogate pairs too) become UTF-8; a lone surrogate becomes
    U+FFFD;
  * numbers become Lua numbers (doubles: integers are exact up to 2^53).

Encoding
  * a table with keys 1..n (n >= 1) is an array, any other non-empty table an
    object (its keys in sorted order, number keys written as strings);
  * an empty table is `[]`, as the earlier Darkroom plugin wrote it, unless it
    is marked: `json.object()` / `json.object(t)` make an object, `json.array()`
    / `json.array(t)` an array;
  * integral numbers are written without a fraction (`42`, not `42.0`); NaN and
    infinities cannot be written (an error, not invalid JSON);
  * `nil` fields are simply absent; `json.null` writes `null`;
  * strings are written as UTF-8 with `"`, `\` and control characters escaped.
]]

local json = { _VERSION = "DarkroomJSON 1.0" }

local string_byte, string_char, string_find, string_format, string_gsub, string_sub =
  string.byte, string.char, string.find, string.format, string.gsub, string.sub
local table_concat, table_sort = table.concat, table.sort
local math_floor, math_huge = math.floor, math.huge
local pairs, next, type, tostring, tonumber, setmetatable, getmetatable, error, pcall =
  pairs, next, type, tostring, tonumber, setmetatable, getmetatable, error, pcall

-- The value `null` decodes to (and that encodes as `null`).
json.null = setmetatable({}, {
  __tostring = function() return "null" end,
  __jsontype = "null",
})

function json.isnull(v)
  return v == json.null
end

local OBJECT = { __jsontype = "object" }
local ARRAY = { __jsontype = "array" }

--- Mark `t` (or a new table) as a JSON object: it encodes as `{}` even when empty.
function json.object(t)
  return setmetatable(t or {}, OBJECT)
end

--- Mark `t` (or a new table) as a JSON array: it encodes as `[]` even when empty.
function json.array(t)
  return setmetatable(t or {}, ARRAY)
end

--- "object", "array" or nil for a table that carries no mark.
function json.kind(t)
  local mt = getmetatable(t)
  return mt and mt.__jsontype or nil
end

-- ---------------------------------------------------------------------------
-- Encoding
-- ---------------------------------------------------------------------------

local ESCAPES = {
  ['"'] = '\\"', ["\\"] = "\\\\", ["\b"] = "\\b", ["\f"] = "\\f",
  ["\n"] = "\\n", ["\r"] = "\\r", ["\t"] = "\\t", ["\127"] = "\\u007f",
}
for i = 0, 31 do
  local c = string_char(i)
  if not ESCAPES[c] then
    ESCAPES[c] = string_format("\\u%04x", i)
  end
end

local function encode_string(s)
  return '"' .. string_gsub(s, '[%c"\\]', ESCAPES) .. '"'
end

local MAX_EXACT = 2 ^ 53

local function encode_number(n)
  if n ~= n or n == math_huge or n == -math_huge then
    error("DarkroomJSON: cannot encode " .. tostring(n) .. " (JSON has no NaN or infinity)", 0)
  end
  if n == math_floor(n) and n > -MAX_EXACT and n < MAX_EXACT then
    -- %.0f, not %d: %d goes through a C long, 32 bits on Windows.
    local s = string_format("%.0f", n)
    if s == "-0" then s = "0" end
    return s
  end
  local s = string_format("%.14g", n)
  if tonumber(s) ~= n then
    s = string_format("%.17g", n)
  end
  return s
end

-- Is `t` an array (keys exactly 1..n)? Returns its length, or nil.
local function array_length(t)
  local n = 0
  for k in pairs(t) do
    if type(k) ~= "number" or k < 1 or k ~= math_floor(k) then
      return nil
    end
    if k > n then n = k end
  end
  for i = 1, n do
    if t[i] == nil then return nil end
  end
  return n
end

local encode_value

local function encode_table(t, out, depth, seen)
  if seen[t] then
    error("DarkroomJSON: cannot encode a table that contains itself", 0)
  end
  if depth > 200 then
    error("DarkroomJSON: nesting deeper than 200", 0)
  end
  seen[t] = true
  local kind = json.kind(t)
  local n = array_length(t)
  if kind == "array" or (kind ~= "object" and n ~= nil and (n > 0 or next(t) == nil)) then
    n = n or 0
    if kind == "array" and n == 0 and next(t) ~= nil then
      error("DarkroomJSON: a table marked as an array has non-array keys", 0)
    end
    out[#out + 1] = "["
    for i = 1, n do
      if i > 1 then out[#out + 1] = "," end
      encode_value(t[i], out, depth + 1, seen)
    end
    out[#out + 1] = "]"
  else
    local keys = {}
    for k, v in pairs(t) do
      local tk = type(k)
      if tk == "number" then
        keys[#keys + 1] = { encode_number(k), v }
      elseif tk == "string" then
        keys[#keys + 1] = { k, v }
      else
        error("DarkroomJSON: cannot encode a " .. tk .. " key", 0)
      end
    end
    table_sort(keys, function(a, b) return a[1] < b[1] end)
    out[#out + 1] = "{"
    for i = 1, #keys do
      if i > 1 then out[#out + 1] = "," end
      out[#out + 1] = encode_string(keys[i][1])
      out[#out + 1] = ":"
      encode_value(keys[i][2], out, depth + 1, seen)
    end
    out[#out + 1] = "}"
  end
  seen[t] = nil
end

encode_value = function(v, out, depth, seen)
  local tv = type(v)
  if v == nil or v == json.null then
    out[#out + 1] = "null"
  elseif tv == "boolean" then
    out[#out + 1] = v and "true" or "false"
  elseif tv == "number" then
    out[#out + 1] = encode_number(v)
  elseif tv == "string" then
    out[#out + 1] = encode_string(v)
  elseif tv == "table" then
    encode_table(v, out, depth, seen)
  else
    error("DarkroomJSON: cannot encode a " .. tv, 0)
  end
end

--- The JSON text of `value`; raises an error for what JSON cannot hold.
function json.encode(value)
  local out = {}
  encode_value(value, out, 0, {})
  return table_concat(out)
end

-- ---------------------------------------------------------------------------
-- Decoding
-- ---------------------------------------------------------------------------

local function utf8_char(cp)
  if cp < 0x80 then
    return string_char(cp)
  elseif cp < 0x800 then
    return string_char(0xC0 + math_floor(cp / 0x40), 0x80 + cp % 0x40)
  elseif cp < 0x10000 then
    return string_char(0xE0 + math_floor(cp / 0x1000), 0x80 + math_floor(cp / 0x40) % 0x40,
                       0x80 + cp % 0x40)
  else
    return string_char(0xF0 + math_floor(cp / 0x40000), 0x80 + math_floor(cp / 0x1000) % 0x40,
                       0x80 + math_floor(cp / 0x40) % 0x40, 0x80 + cp % 0x40)
  end
end

local SIMPLE_ESCAPES = {
  ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t",
}

local function where(str, pos, what)
  local line = 1
  local i = 1
  while true do
    local nl = string_find(str, "\n", i, true)
    if not nl or nl >= pos then break end
    line = line + 1
    i = nl + 1
  end
  return string_format("DarkroomJSON: %s at line %d column %d (char %d)",
                       what, line, pos - i + 1, pos)
end

local function fail(str, pos, what)
  error({ json_error = where(str, pos, what) }, 0)
end

local function skip_ws(str, pos)
  local _, e = string_find(str, "^[ \n\r\t]*", pos)
  return e + 1
end

local decode_value

local function decode_string(str, pos)
  -- `pos` is just after the opening quote.
  local parts, n = {}, 0
  local i = pos
  while true do
    local s, e = string_find(str, '^[^"\\%c]+', i)
    if s then
      n = n + 1
      parts[n] = string_sub(str, s, e)
      i = e + 1
    end
    local c = string_sub(str, i, i)
    if c == '"' then
      return table_concat(parts), i + 1
    elseif c == "\\" then
      local esc = string_sub(str, i + 1, i + 1)
      if SIMPLE_ESCAPES[esc] then
        n = n + 1
        parts[n] = SIMPLE_ESCAPES[esc]
        i = i + 2
      elseif esc == "u" then
        local hex = string_sub(str, i + 2, i + 5)
        if not string_find(hex, "^%x%x%x%x$") then
          fail(str, i, "bad \\u escape")
        end
        local cp = tonumber(hex, 16)
        i = i + 6
        if cp >= 0xD800 and cp <= 0xDBFF then
          local lo = string_find(str, "^\\u[dD][c-fC-F]%x%x", i)
          if lo then
            local low = tonumber(string_sub(str, i + 2, i + 5), 16)
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (low - 0xDC00)
            i = i + 6
          else
            cp = 0xFFFD
          end
        elseif cp >= 0xDC00 and cp <= 0xDFFF then
          cp = 0xFFFD
        end
        n = n + 1
        parts[n] = utf8_char(cp)
      else
        fail(str, i, "bad escape")
      end
    elseif c == "" then
      fail(str, pos - 1, "unterminated string")
    elseif c == "\127" then
      -- DEL is a control character to Lua's %c, not to JSON.
      n = n + 1
      parts[n] = c
      i = i + 1
    else
      fail(str, i, "control character in string")
    end
  end
end

local function decode_number(str, pos)
  local s, e = string_find(str, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if not s then fail(str, pos, "unexpected character") end
  local text = string_sub(str, s, e)
  -- JSON's grammar: no leading zeros, digits after a point and in an exponent.
  if not (string_find(text, "^-?0$") or string_find(text, "^-?0[.eE]") or string_find(text, "^-?[1-9]"))
     or string_find(text, "%.$") or string_find(text, "%.[eE]") or string_find(text, "[eE][-+]?$")
     or (string_find(text, "[-+]", 2) and not string_find(text, "[eE][-+]")) then
    fail(str, pos, "malformed number")
  end
  local value = tonumber(text)
  if value == nil then fail(str, pos, "malformed number") end
  return value, e + 1
end

local LITERALS = { t = { "true", true }, f = { "false", false }, n = { "null", json.null } }

decode_value = function(str, pos, depth)
  pos = skip_ws(str, pos)
  local c = string_sub(str, pos, pos)
  if c == "{" then
    if depth >= 200 then fail(str, pos, "nesting deeper than 200") end
    local obj = json.object()
    pos = skip_ws(str, pos + 1)
    if string_sub(str, pos, pos) == "}" then return obj, pos + 1 end
    while true do
      if string_sub(str, pos, pos) ~= '"' then fail(str, pos, "expected a string key") end
      local key
      key, pos = decode_string(str, pos + 1)
      pos = skip_ws(str, pos)
      if string_sub(str, pos, pos) ~= ":" then fail(str, pos, "expected ':'") end
      local value
      value, pos = decode_value(str, pos + 1, depth + 1)
      obj[key] = value
      pos = skip_ws(str, pos)
      local d = string_sub(str, pos, pos)
      if d == "}" then return obj, pos + 1 end
      if d ~= "," then fail(str, pos, "expected ',' or '}'") end
      pos = skip_ws(str, pos + 1)
    end
  elseif c == "[" then
    if depth >= 200 then fail(str, pos, "nesting deeper than 200") end
    local arr, n = json.array(), 0
    pos = skip_ws(str, pos + 1)
    if string_sub(str, pos, pos) == "]" then return arr, pos + 1 end
    while true do
      local value
      value, pos = decode_value(str, pos, depth + 1)
      n = n + 1
      arr[n] = value
      pos = skip_ws(str, pos)
      local d = string_sub(str, pos, pos)
      if d == "]" then return arr, pos + 1 end
      if d ~= "," then fail(str, pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then
    return decode_string(str, pos + 1)
  elseif c == "-" or string_find(c, "^%d$") then
    return decode_number(str, pos)
  elseif LITERALS[c] then
    local word, value = LITERALS[c][1], LITERALS[c][2]
    if string_sub(str, pos, pos + #word - 1) ~= word then fail(str, pos, "unexpected word") end
    return value, pos + #word
  elseif c == "" then
    fail(str, pos, "unexpected end of input")
  else
    fail(str, pos, "unexpected character " .. string_format("%q", c))
  end
end

--- The value of the JSON text `str`, or nil and a message saying what is wrong where.
function json.decode(str)
  if type(str) ~= "string" then
    return nil, "DarkroomJSON: expected a string to decode, got " .. type(str)
  end
  local ok, value, pos = pcall(decode_value, str, 1, 0)
  if not ok then
    if type(value) == "table" and value.json_error then
      return nil, value.json_error
    end
    return nil, "DarkroomJSON: " .. tostring(value)
  end
  pos = skip_ws(str, pos)
  if pos <= #str then
    return nil, where(str, pos, "trailing characters")
  end
  return value
end

-- A compatibility alias: some code calls json.parse/json.stringify.
json.parse = json.decode
json.stringify = json.encode

return json
