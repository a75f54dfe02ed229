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

/** Elements that are lists by nature: always arrays, so a list of one has the same shape as a list of three. */
function alwaysArray(key: string, parent: string | undefined): boolean {
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

/** Characters XML 1.0 cannot carry at all (controls other than tab/LF/CR, lone surrogates, U+FFFE/U+FFFF). */
const NOT_XML_CHAR = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/**
 * Wraps text in a CDATA section for a reply. A `]]>` in the text is split across two sections
 * (`]]]]><![CDATA[>`), so any text survives; characters XML cannot carry (NUL and other C0 controls, lone
 * surrogates) are dropped, because WeChat rejects the whole reply otherwise.
 */
export function renderCdata(text: string): string {
  return `${CDATA_OPEN}${text.replace(NOT_XML_CHAR, '').replaceAll(CDATA_CLOSE, `]]${CDATA_CLOSE}${CDATA_OPEN}>`)}${CDATA_CLOSE}`;
}
