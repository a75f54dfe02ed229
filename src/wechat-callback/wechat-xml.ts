import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { MalformedXmlError } from './errors/malformed-xml.error';

/** A value in a parsed callback: text, a nested element, or the repeats of an element. */
export type WechatXmlValue = string | WechatXmlObject | WechatXmlValue[];

/** The children of an element, keyed by element name exactly as WeChat spells it. */
export interface WechatXmlObject {
  [element: string]: WechatXmlValue;
}

/** Containers whose `<List>` children are the entries of a subscription-notice event. */
const LIST_CONTAINERS: ReadonlySet<string> = new Set([
  'SubscribeMsgPopupEvent',
  'SubscribeMsgChangeEvent',
  'SubscribeMsgSentEvent',
]);

/**
 * One parser for every callback: the options hold no per-document state. Entities are never expanded (a
 * reference stays as its literal text) and no value is converted, so a 19-digit MsgId keeps every digit.
 */
const PARSER = new XMLParser({
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  trimValues: true,
  cdataPropName: false,
});

const CDATA_OPEN = '<![CDATA[';
const CDATA_CLOSE = ']]>';

/**
 * Rejects any DOCTYPE outside CDATA: WeChat never sends one, and refusing it up front keeps entity declarations
 * (XXE, entity bombs) from reaching the parser at all. Text inside CDATA (a user typing `<!DOCTYPE`) is content.
 */
function rejectDoctype(xml: string): void {
  let from = 0;
  for (;;) {
    const open = xml.indexOf('<!', from);
    if (open === -1) return;
    if (xml.startsWith(CDATA_OPEN, open)) {
      const close = xml.indexOf(CDATA_CLOSE, open + CDATA_OPEN.length);
      if (close === -1) throw new MalformedXmlError('a CDATA section is not closed');
      from = close + CDATA_CLOSE.length;
    } else if (xml.slice(open + 2, open + 9).toUpperCase() === 'DOCTYPE') {
      throw new MalformedXmlError('a DOCTYPE is not accepted');
    } else {
      from = open + 2;
    }
  }
}

/**
 * Elements that are lists by nature: always arrays, so a list of one has the same shape as a list of three.
 * @internal shared with the JSON parser, which gives JSON pushes the same shape
 */
export function alwaysArray(key: string, parent: string | undefined): boolean {
  return key === 'item' || (key === 'List' && parent !== undefined && LIST_CONTAINERS.has(parent));
}

/**
 * Copies the parser's output into the documented shape; `fromEntries` defines own properties only.
 * NOTE: list shapes are fixed here rather than with the parser's `isArray` hook, which makes it build a path
 * string for every element (a third of the parse time).
 */
function toWechatValue(value: unknown, key?: string): WechatXmlValue {
  if (Array.isArray(value)) return value.map((child) => toWechatValue(child, key));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([childKey, child]) => {
        const copy = toWechatValue(child, childKey);
        return [childKey, alwaysArray(childKey, key) && !Array.isArray(copy) ? [copy] : copy];
      }),
    );
  }
  return value === undefined || value === null ? '' : String(value);
}

/**
 * Parses a callback body (plaintext, or the decrypted inner XML) into the children of its `<xml>` root.
 *
 * Every leaf is a string (`CreateTime`, the 64-bit `MsgId` and other numbers stay exact strings), CDATA becomes
 * its text (inner whitespace kept, while whitespace between elements is dropped), an empty element is `''`,
 * a nested element is an object and a repeated element an array. `<item>` elements (PicList, ResultList) and the
 * `<List>` entries of subscription-notice events are always arrays. Unknown elements pass through.
 *
 * Entity references are not expanded: WeChat wraps text in CDATA, and `&amp;` outside CDATA stays `&amp;`.
 *
 * @throws MalformedXmlError when the body is not well-formed, has another root than `<xml>`, holds a DOCTYPE,
 * or uses a reserved name (`__proto__`, `constructor`, `prototype`) as an element. The error never quotes the body.
 */
export function parseWechatXml(xml: string): WechatXmlObject {
  if (typeof xml !== 'string') throw new MalformedXmlError('the body is not text');
  return readPlainWechatXml(xml) ?? parseGeneralXml(xml);
}

/**
 * The validating parser: any document, every error reported.
 * @internal exported for the tests that hold the single-pass reader to it
 */
export function parseGeneralXml(xml: string): WechatXmlObject {
  rejectDoctype(xml);
  const verdict = XMLValidator.validate(xml);
  if (verdict !== true) {
    throw new MalformedXmlError(
      `not well-formed XML (${verdict.err.code})`,
      verdict.err.line,
      verdict.err.col,
    );
  }
  let document: unknown;
  try {
    document = PARSER.parse(xml);
  } catch {
    throw new MalformedXmlError(
      'the XML parser refused the document (reserved element name or nesting too deep)',
    );
  }
  if (document === null || typeof document !== 'object' || Array.isArray(document)) {
    throw new MalformedXmlError('no root element');
  }
  const roots = Object.keys(document);
  if (roots.length !== 1 || roots[0] !== 'xml') throw new MalformedXmlError('the root element is not <xml>');
  const root = toWechatValue((document as { xml: unknown }).xml, 'xml');
  if (root === '') return {};
  if (typeof root === 'string' || Array.isArray(root)) {
    throw new MalformedXmlError('the <xml> root holds text instead of elements');
  }
  return root;
}

const MAX_DEPTH = 16;
/** Element names the single-pass reader accepts; anything else (namespaces, odd characters) goes to the parser. */
const SIMPLE_NAME = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
const RESERVED: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * A single pass over the documents WeChat actually sends: one `<xml>` root, elements without attributes, leaves of
 * text and/or CDATA, nesting, repeats. It returns what the validating parser would return for the same document,
 * or `undefined` at the first thing outside that subset (attributes, comments, processing instructions, entity
 * references, a DOCTYPE, a carriage return, a mismatched or unclosed tag, a reserved name…), which then takes the full path and gets
 * its precise error there. @internal About 5× cheaper than validate + parse + copy on a text push.
 */
export function readPlainWechatXml(xml: string): WechatXmlObject | undefined {
  // line ends are normalized by a real parser (CR LF and a lone CR become LF): rare enough to leave to it
  if (xml.includes('\r')) return undefined;
  let at = 0;
  const length = xml.length;
  while (at < length && isSpace(xml.charCodeAt(at))) at++;
  if (!xml.startsWith('<xml>', at)) return undefined;
  const reader = { xml, at: at + 5 };
  const root = readContent(reader, 'xml', 1);
  if (root === undefined) return undefined;
  for (at = reader.at; at < length; at++) if (!isSpace(xml.charCodeAt(at))) return undefined;
  return root === '' ? {} : typeof root === 'string' ? undefined : root;
}

/**
 * Reads the content of element `name` up to and including its closing tag: an object when it has child
 * elements, its text otherwise (text trimmed, CDATA kept as is, whitespace-only text around CDATA dropped).
 */
function readContent(
  reader: { xml: string; at: number },
  name: string,
  depth: number,
): WechatXmlObject | string | undefined {
  const xml = reader.xml;
  let children: WechatXmlObject | undefined;
  let text = '';
  let cdata: string | undefined;
  for (;;) {
    const open = xml.indexOf('<', reader.at);
    if (open === -1) return undefined;
    if (open > reader.at) {
      const piece = xml.slice(reader.at, open);
      if (piece.includes('&') || piece.includes('>')) return undefined;
      if (piece.trim() !== '') {
        if (text !== '' || cdata !== undefined || children !== undefined) return undefined;
        text = piece.trim();
      }
    }
    const next = xml.charCodeAt(open + 1);
    if (next === 0x2f /* / */) {
      const close = open + 2 + name.length;
      if (xml.charCodeAt(close) !== 0x3e /* > */ || xml.slice(open + 2, close) !== name) return undefined;
      reader.at = close + 1;
      if (children !== undefined) return text === '' && cdata === undefined ? children : undefined;
      if (cdata !== undefined) return text === '' ? cdata : undefined;
      return text;
    }
    if (next === 0x21 /* ! */) {
      if (!xml.startsWith(CDATA_OPEN, open) || text !== '' || children !== undefined) return undefined;
      const end = xml.indexOf(CDATA_CLOSE, open + CDATA_OPEN.length);
      if (end === -1) return undefined;
      cdata = (cdata ?? '') + xml.slice(open + CDATA_OPEN.length, end);
      reader.at = end + CDATA_CLOSE.length;
      continue;
    }
    // a child element: `<Name>` or `<Name/>`, nothing else
    if (text !== '' || cdata !== undefined || depth >= MAX_DEPTH) return undefined;
    const end = xml.indexOf('>', open + 1);
    if (end === -1) return undefined;
    const selfClosing = xml.charCodeAt(end - 1) === 0x2f;
    const child = xml.slice(open + 1, selfClosing ? end - 1 : end);
    if (!SIMPLE_NAME.test(child) || RESERVED.has(child)) return undefined;
    reader.at = end + 1;
    const value = selfClosing ? '' : readContent(reader, child, depth + 1);
    if (value === undefined) return undefined;
    children ??= {};
    // a value read here is never an array itself, so an array in place is a list being built
    const existing = Object.hasOwn(children, child) ? children[child] : undefined;
    if (existing === undefined) children[child] = alwaysArray(child, name) ? [value] : value;
    else if (Array.isArray(existing)) existing.push(value);
    else children[child] = [existing, value];
  }
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x0a || code === 0x0d || code === 0x09;
}

/** Characters XML 1.0 cannot carry at all (controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;
/** Text with no `]` and no character outside the Basic Multilingual Plane's XML range: safe in CDATA as it is. */
const PLAIN_TEXT = /^[\t\n\r\u0020-\u005C\u005E-\uD7FF\uE000-\uFFFD]*$/;

/**
 * Wraps text in a CDATA section for a reply. A `]]>` in the text is split across two sections
 * (`]]]]><![CDATA[>`), so any text survives; characters XML cannot carry (NUL and other C0 controls, lone
 * surrogates) are dropped, because WeChat rejects the whole reply otherwise.
 */
export function renderCdata(text: string): string {
  // almost every reply is plain text: one cheap test instead of two rewrites
  if (PLAIN_TEXT.test(text)) return `${CDATA_OPEN}${text}${CDATA_CLOSE}`;
  return `${CDATA_OPEN}${text.replace(NOT_XML_CHAR, '').replaceAll(CDATA_CLOSE, `]]${CDATA_CLOSE}${CDATA_OPEN}>`)}${CDATA_CLOSE}`;
}
