import { DomainError } from '../../common/domain-error';

/**
 * A callback body is not the XML WeChat sends: not well-formed, a root other than `<xml>`, or a DOCTYPE.
 * Neither the message nor the fields ever carry any part of the body (it may hold user content).
 */
export class MalformedXmlError extends DomainError {
  readonly httpStatus = 400;

  constructor(
    readonly reason: string,
    readonly line?: number,
    readonly column?: number,
  ) {
    super(
      `malformed callback XML: ${reason}${line === undefined ? '' : ` (line ${line}${column === undefined ? '' : `, column ${column}`})`}`,
    );
    this.name = 'MalformedXmlError';
  }
}
