-- The gallery's search and filters (issue 10), each served by an index under RLS.

-- Words of the prompt an asset was made from; the expression matches the one in
-- services/assets/gallery.py so the planner uses it.
create index assets_prompt_search_idx on public.assets
  using gin (to_tsvector('simple', coalesce(params ->> 'prompt', '')));

-- Filter by model, newest first, paged like the unfiltered gallery.
create index assets_user_model_page_idx on public.assets (user_id, model_id, created_at desc, id desc);
