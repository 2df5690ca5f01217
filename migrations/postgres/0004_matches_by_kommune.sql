-- Passed matches by the Kommunen they are routed to: planning a digest reads the
-- reasons of one contact's calls, and at a Land's size (hundreds of Kommunen, ~80
-- passed matches per call) the call ids alone select a hundred rows for each one
-- the contact needs. `?|` on this index reads only the contact's Kommunen's rows.
CREATE INDEX matches_passed_kommunen ON matches USING gin (kommunen) WHERE passed;
