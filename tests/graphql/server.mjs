// A real GraphQL server for Pacer's connector tests, on graphql-yoga (npm).
// It behaves as shop APIs do: errors come in 200 answers, a wrong token is
// FORBIDDEN, an unknown SKU is NOT_FOUND, and a mutation takes one record
// or a list. It listens on 127.0.0.1, on a free port it prints first:
//   listening on http://127.0.0.1:PORT/graphql
import { createServer } from "node:http";
import { GraphQLError } from "graphql";
import { createSchema, createYoga } from "graphql-yoga";

const TOKEN = process.env.GRAPHQL_TOKEN ?? "s3cret";
const prices = new Map();
// The shop knows these SKUs; any other is NOT_FOUND.
const known = (sku) => /^SKU-\d+$/.test(sku);

function authorize(context) {
  if (context.request.headers.get("authorization") !== `Bearer ${TOKEN}`) {
    throw new GraphQLError("FORBIDDEN: the token is missing or wrong", {
      extensions: { code: "FORBIDDEN" },
    });
  }
}

function set(sku, price) {
  if (!known(sku)) {
    throw new GraphQLError(`NOT_FOUND: no variant with SKU ${sku}`, {
      extensions: { code: "NOT_FOUND" },
    });
  }
  prices.set(sku, price);
  return true;
}

const yoga = createYoga({
  logging: false,
  maskedErrors: false,
  schema: createSchema({
    typeDefs: `
      input PriceInput { sku: String!, price: String! }
      type Query { price(sku: String!): String }
      type Mutation {
        setPrice(sku: String!, price: String!): Boolean!
        setPrices(input: [PriceInput!]!): Int!
      }
    `,
    resolvers: {
      Query: { price: (_, { sku }) => prices.get(sku) ?? null },
      Mutation: {
        setPrice: (_, { sku, price }, context) => {
          authorize(context);
          return set(sku, price);
        },
        setPrices: (_, { input }, context) => {
          authorize(context);
          input.forEach(({ sku, price }) => set(sku, price));
          return input.length;
        },
      },
    },
  }),
});

const server = createServer(yoga);
server.listen(0, "127.0.0.1", () => {
  console.log(`listening on http://127.0.0.1:${server.address().port}/graphql`);
});
