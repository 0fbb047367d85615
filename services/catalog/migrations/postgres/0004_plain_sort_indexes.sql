-- Searches without text walk one of these in their order (newest first, price up, price down), ties broken by
-- id as the page cursor is, so a page costs its own rows instead of a sort over every listed product. They
-- replace the (listed, created_at_ms) and (listed, min_price) indexes, which are their prefixes.
CREATE INDEX products_listed_newest ON products (listed, created_at_ms DESC, id);
CREATE INDEX products_listed_price_up ON products (listed, min_price, id);
CREATE INDEX products_listed_price_down ON products (listed, min_price DESC, id);
DROP INDEX products_listed_created;
DROP INDEX products_listed_price;
