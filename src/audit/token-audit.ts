const RID = /\brid:\s*([0-9a-zA-Z]+(?:-[0-9a-zA-Z]+)*)\s*$/;

/** The ` rid: …` request id WeChat appends to an errmsg. */
export function ridOf(errmsg: string | undefined): string | undefined {
  return errmsg === undefined ? undefined : RID.exec(errmsg)?.[1];
}
