/* stb_image compiled into the fuzzer (the runtime links Debian's libstb) so that libFuzzer's
 * coverage reaches into the GIF and BMP decoders. */
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_GIF
#define STBI_ONLY_BMP
#define STBI_NO_STDIO
#include <stb_image.h>
