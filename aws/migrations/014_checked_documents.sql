-- A checked document's file lives at a key no upload form can write (agents/<sub>/checked/
-- ...): confirm copies it there before checking it, and downloads serve that copy, so the
-- form, which S3 honours until it expires, cannot replace what was checked.
-- Not valid for older rows: they were confirmed in place, and their forms (5 minutes)
-- expired long ago; every row confirmed from now on is held to it.
alter table agent_documents
  add constraint agent_documents_checked_key
    check ((status = 'uploaded') = (s3_key like 'agents/%/checked/%')) not valid;
