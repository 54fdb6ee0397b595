-- A Pro user can upload a LoRA as a .safetensors file: it lives in our private storage
-- (`storage_path`, under the owner's folder) instead of at an https link, and a run hands fal
-- a fresh signed URL for it. A row has exactly one of the two.
alter table public.loras add column storage_path text;
alter table public.loras alter column url drop not null;
alter table public.loras add constraint loras_one_source check (
  (url is null) <> (storage_path is null)
);
-- The file sits in its owner's folder, so one user's row can never name another's file.
alter table public.loras add constraint loras_storage_path_owned check (
  storage_path is null
  or (storage_path like user_id::text || '/loras/%' and storage_path !~ '\.\.')
);

-- Inserts still come only from the API (`authenticated` has no insert grant since the
-- hardening migration); the restrictive rule now admits an uploaded file in the owner's own
-- folder besides a link to a known host.
drop policy "loras need pro and a known host" on public.loras;
create policy "loras need pro and a known host" on public.loras as restrictive
  for insert to authenticated
  with check (
    exists (
      select 1 from public.profiles p
      where p.id = (select auth.uid()) and p.role in ('PRO', 'ADMIN')
    )
    and (
      url ~ '^https://(huggingface\.co|hf\.co|civitai\.com)/[^\\@]*$'
      or (url is null and storage_path like (select auth.uid())::text || '/loras/%')
    )
  );
